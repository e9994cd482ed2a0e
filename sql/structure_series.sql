-- Every live value of one structure, oldest first, for its time series (a territory has none here: its
-- values are read by sql/territories_values.sql).
SELECT indicator_code, period_start, period_end, value, numerator, denominator, sample_size
FROM observation
WHERE structure_code = $structure
  AND structure_code NOT IN (SELECT code FROM structure WHERE territorial)
ORDER BY indicator_code, period_start
