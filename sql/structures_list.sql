-- Structures with their label and how many live values they have.
SELECT s.code, s.name, s.network, s.typologie, s.departement, s.region, s.label_level, s.label_awarded_on,
       count(o.indicator_code) AS n_values, max(o.period_end) AS last_period_end
FROM structure s
LEFT JOIN observation o ON o.structure_code = s.code
GROUP BY ALL
ORDER BY s.network, s.code;
