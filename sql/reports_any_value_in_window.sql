-- Whether a window holds a value (1) or none (0), for one structure or ($structure NULL) for all; the
-- territories' values (open data) are no structure's.
SELECT count(*) FROM (
    SELECT 1 FROM observation o JOIN structure s ON s.code = o.structure_code AND NOT s.territorial
    WHERE o.period_start >= $start AND o.period_end <= $end
      AND ($structure::VARCHAR IS NULL OR o.structure_code = $structure)
    LIMIT 1)
