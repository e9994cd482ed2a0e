-- Structures with their label and how many live values they have (territories of the open data apart:
-- sql/territories_list.sql); an unnamed one shows its code.
SELECT s.code, coalesce(s.name, s.code) AS name, s.network, s.typologie, s.departement, s.region, s.label_level,
       s.label_awarded_on, count(o.indicator_code) AS n_values, max(o.period_end) AS last_period_end
FROM structure s
LEFT JOIN observation o ON o.structure_code = s.code
WHERE NOT s.territorial
GROUP BY ALL
ORDER BY s.network, s.code;
