-- Values of the window with what the export-resultats schema needs about their structure and indicator.
-- The territories' values stay out: that schema publishes services.
SELECT o.structure_code, s.name, s.network, s.typologie, o.indicator_code,
       coalesce(i.label, e.label, o.indicator_code) AS label,
       o.period_start, o.period_end, o.value, o.numerator, o.denominator,
       -- whole months only (a single-day value of the baromètre has no duration)
       CASE WHEN day(o.period_start) = 1 AND day(o.period_end + INTERVAL 1 DAY) = 1
            THEN datediff('month', o.period_start, o.period_end + INTERVAL 1 DAY) END AS months,
       t.value AS bronze
FROM observation o
LEFT JOIN structure s ON s.code = o.structure_code
LEFT JOIN indicator i ON i.code = o.indicator_code AND i.version = $version
LEFT JOIN extra_indicator e ON e.code = o.indicator_code
LEFT JOIN threshold t ON t.indicator_code = o.indicator_code AND t.version = $version AND t.level = 'bronze'
WHERE o.period_start >= $start AND o.period_end <= $end AND s.territorial IS NOT TRUE
ORDER BY o.structure_code, o.indicator_code, o.period_start
