-- The end of the most recent period of structures' data (never the baromètre's territories), of one structure
-- ($structure) or of all (NULL): anchors « the 12 months up to the latest data » and « Données au … ».
SELECT max(o.period_end)
FROM observation o JOIN structure s ON s.code = o.structure_code AND NOT s.territorial
WHERE $structure::VARCHAR IS NULL OR o.structure_code = $structure::VARCHAR
