-- Each incoming value beside the live one for the same (structure, indicator, period), if any.
CREATE TEMP TABLE incoming_compared AS
SELECT n.*,
       o.value AS old_value,
       o.import_id AS old_import,
       o.structure_code IS NULL AS is_new,
       o.structure_code IS NOT NULL
           AND o.value IS NOT DISTINCT FROM n.value
           AND o.numerator IS NOT DISTINCT FROM n.numerator
           AND o.denominator IS NOT DISTINCT FROM n.denominator
           AND o.sample_size IS NOT DISTINCT FROM n.sample_size
           AND o.expected_value IS NOT DISTINCT FROM n.expected_value AS is_same
FROM incoming n
LEFT JOIN observation o
       ON o.structure_code = n.structure_code
      AND o.indicator_code = n.indicator_code
      AND o.period_start = n.period_start
      AND o.period_end = n.period_end;
