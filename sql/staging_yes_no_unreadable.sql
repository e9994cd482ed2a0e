-- Yes/no cells that say neither yes nor no.
SELECT line, value_col, value_text FROM typed
WHERE is_yes_no AND value_text IS NOT NULL AND value IS NULL
ORDER BY line
