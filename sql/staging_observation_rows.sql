-- The checked rows as they will be stored (unprotect: names our export shielded come back).
SELECT unprotect(structure_code) AS structure_code, indicator_code, period_start, period_end, value,
       numerator, denominator, sample_size, expected_value, line AS source_line
FROM typed
