-- The first rows that restate a stored value differently, with the stored value and its import.
SELECT source_line, value, old_value, old_import FROM incoming_compared
WHERE NOT is_new AND NOT is_same
ORDER BY source_line
LIMIT $limit
