-- Each unknown (or missing) indicator code, at the first line it appears.
SELECT min(k.first_line), any_value(k.indicator), k.indicator IS NULL
FROM distinct_keys k
JOIN indicator_map m ON k.indicator IS NOT DISTINCT FROM m.k_indicator
    AND k.indicator_label IS NOT DISTINCT FROM m.k_label AND k.unit IS NOT DISTINCT FROM m.k_unit
WHERE m.code IS NULL
GROUP BY k.indicator
ORDER BY 1
