-- Every incoming value becomes live, with its import and its line in the file (no key is stored yet).
INSERT INTO observation
SELECT structure_code, indicator_code, period_start, period_end, value, numerator, denominator,
       sample_size, expected_value, $import_id, $sheet, source_line
FROM incoming;
