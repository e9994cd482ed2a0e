-- The territories of the open-data baromètre (départements, régions, national): how many values and indicators
-- each holds, and the end of its latest period.
SELECT s.code, coalesce(s.name, s.code) AS name, count(o.indicator_code) AS n_values,
       count(DISTINCT o.indicator_code) AS n_indicators, max(o.period_end) AS last_period_end
FROM structure s
LEFT JOIN observation o ON o.structure_code = s.code
WHERE s.territorial
GROUP BY s.code, s.name
ORDER BY s.code
