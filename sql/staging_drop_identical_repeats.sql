-- Identical repeats (a layout that tolerates them) are read once: the first line of each key stays.
DELETE FROM typed WHERE line IN (SELECT line FROM (
    SELECT line, row_number() OVER (PARTITION BY structure_code, indicator_code, period_start, period_end
                                    ORDER BY line) AS rank
    FROM typed) WHERE rank > 1)
