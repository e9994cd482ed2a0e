-- Every live value of one structure, oldest first, for its time series.
SELECT indicator_code, period_start, period_end, value, numerator, denominator, sample_size
FROM observation
WHERE structure_code = $structure
ORDER BY indicator_code, period_start
