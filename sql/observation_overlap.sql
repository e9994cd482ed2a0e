-- How many incoming values meet a live value for the same (structure, indicator, period).
SELECT count(*)
FROM incoming n
JOIN observation o
  ON o.structure_code = n.structure_code
 AND o.indicator_code = n.indicator_code
 AND o.period_start = n.period_start
 AND o.period_end = n.period_end;
