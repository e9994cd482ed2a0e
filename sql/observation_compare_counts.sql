-- New rows, rows identical to what is stored, and rows that restate a stored value differently.
SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE is_same),
       count(*) FILTER (WHERE NOT is_new AND NOT is_same)
FROM incoming_compared
