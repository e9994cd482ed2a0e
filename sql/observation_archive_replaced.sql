-- Values about to be replaced are kept as history, marked with the import that replaced them.
INSERT INTO observation_history
SELECT o.*, $import_id
FROM observation o
JOIN incoming_compared c
  ON o.structure_code = c.structure_code
 AND o.indicator_code = c.indicator_code
 AND o.period_start = c.period_start
 AND o.period_end = c.period_end
WHERE NOT c.is_new AND NOT c.is_same;
