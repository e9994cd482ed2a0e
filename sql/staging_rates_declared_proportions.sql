-- Rates written in the file, declared as proportions (0–1): every indicator's count and first value.
SELECT indicator_code, count(*), arg_min(value, line) FROM typed
WHERE is_rate AND value_text IS NOT NULL AND value IS NOT NULL
GROUP BY indicator_code
ORDER BY indicator_code
