-- One territory's values, indicator by indicator and latest period first, named by the référentiel in force
-- ($version) or by the open data that created the indicator.
SELECT o.indicator_code, coalesce(i.label, e.label, o.indicator_code) AS label, o.period_start, o.period_end,
       o.value, coalesce(i.unit, e.unit) AS unit
FROM observation o
JOIN structure s ON s.code = o.structure_code AND s.territorial
LEFT JOIN indicator i ON i.code = o.indicator_code AND i.version = $version
LEFT JOIN extra_indicator e ON e.code = o.indicator_code
WHERE o.structure_code = $code
ORDER BY label, o.indicator_code, o.period_end DESC
