-- The replaced values leave the live table (they are in observation_history now).
DELETE FROM observation o
USING incoming_compared c
WHERE o.structure_code = c.structure_code
  AND o.indicator_code = c.indicator_code
  AND o.period_start = c.period_start
  AND o.period_end = c.period_end
  AND NOT c.is_new AND NOT c.is_same;
