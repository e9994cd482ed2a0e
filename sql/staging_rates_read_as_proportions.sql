-- Indicators whose every rate written in the file lies in 0–1 (and not only 0 and 1): read as proportions.
SELECT indicator_code, count(*), arg_min(value, line) FROM typed
WHERE is_rate AND value_text IS NOT NULL AND value IS NOT NULL
GROUP BY indicator_code
HAVING max(value) <= 1 AND min(value) >= 0 AND bool_or(value NOT IN (0, 1))
ORDER BY indicator_code
