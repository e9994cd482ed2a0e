-- New and replacing values become live, each with its import and its line in the file.
INSERT INTO observation
SELECT structure_code, indicator_code, period_start, period_end, value, numerator, denominator,
       sample_size, expected_value, $import_id, $sheet, source_line
FROM incoming_compared
WHERE NOT is_same;
