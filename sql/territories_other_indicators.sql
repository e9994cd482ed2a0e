-- One structure's values of indicators outside the référentiel in force ($version): « Autres indicateurs »,
-- shown apart, never in the levels. Latest period first.
SELECT o.indicator_code, coalesce(e.label, o.indicator_code) AS label, o.period_start, o.period_end, o.value,
       e.unit
FROM observation o
LEFT JOIN extra_indicator e ON e.code = o.indicator_code
WHERE o.structure_code = $code
  AND o.indicator_code NOT IN (SELECT code FROM indicator WHERE version = $version)
ORDER BY label, o.indicator_code, o.period_end DESC
