-- The engagements of a référentiel version with how many indicators measure each, by number.
SELECT e.number, e.theme, e.label, count(i.code) AS n_indicators
FROM engagement e LEFT JOIN indicator i ON i.version = e.version AND i.engagement = e.number
WHERE e.version = $version
GROUP BY ALL
ORDER BY e.number
