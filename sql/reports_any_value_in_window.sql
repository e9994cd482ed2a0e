-- Whether a window holds a value (1) or none (0), for one structure or ($structure NULL) for all.
SELECT count(*) FROM (
    SELECT 1 FROM observation
    WHERE period_start >= $start AND period_end <= $end
      AND ($structure::VARCHAR IS NULL OR structure_code = $structure)
    LIMIT 1)
