-- Later imports still in force that rely on this one: they replaced its values or structures,
-- or they hold values for structures or indicators this import created.
SELECT DISTINCT b.id
FROM import_batch b
WHERE b.status = 'importe' AND b.id <> $import_id AND (
       b.id IN (SELECT replaced_by FROM observation_history WHERE import_id = $import_id)
    OR b.id IN (SELECT replaced_by FROM structure_history WHERE import_id = $import_id)
    OR b.id IN (SELECT o.import_id FROM observation o
                JOIN structure s ON s.code = o.structure_code
                WHERE s.import_id = $import_id
                  AND s.code NOT IN (SELECT code FROM structure_history WHERE replaced_by = $import_id))
    OR b.id IN (SELECT o.import_id FROM observation o
                JOIN extra_indicator e ON e.code = o.indicator_code
                WHERE e.import_id = $import_id))
ORDER BY b.id DESC;
