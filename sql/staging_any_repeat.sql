-- How many (structure, indicator, period) keys appear on more than one line.
SELECT count(*) FROM (
    SELECT 1 FROM typed
    WHERE structure_code IS NOT NULL AND indicator_code IS NOT NULL AND period_start IS NOT NULL
    GROUP BY structure_code, indicator_code, period_start, period_end
    HAVING count(*) > 1)
