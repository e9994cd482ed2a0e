-- Whether the base holds any value at all (1) or none (0): why a report is empty.
SELECT count(*) FROM (SELECT 1 FROM observation LIMIT 1)
