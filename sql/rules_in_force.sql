-- Indicators of a référentiel version with their bronze / argent / or thresholds and provenance.
SELECT i.code, i.label, i.engagement, i.unit, i.direction, i.kind, i.periodicity, i.required, i.min_n,
       i.min_n_provenance, i.numerator_label,
       max(t.value) FILTER (WHERE t.level = 'bronze') AS bronze,
       max(t.value) FILTER (WHERE t.level = 'argent') AS argent,
       max(t.value) FILTER (WHERE t.level = 'or') AS "or",
       max(t.provenance) FILTER (WHERE t.level = 'bronze') AS provenance_bronze,
       max(t.provenance) FILTER (WHERE t.level = 'argent') AS provenance_argent,
       max(t.provenance) FILTER (WHERE t.level = 'or') AS provenance_or
FROM indicator i
LEFT JOIN threshold t ON t.version = i.version AND t.indicator_code = i.code
WHERE i.version = $version
GROUP BY ALL
ORDER BY i.engagement, i.code  -- the grid's order in aggregate_window.sql
