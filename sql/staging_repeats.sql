-- Every repeated line with the first line of its key, and whether all its stored fields are the same.
SELECT line, first_line, value_text, same FROM (
    SELECT line, value_text,
           first_value(line) OVER w AS first_line,
           -- identical means every stored field, not only the value: a different target is a conflict
           (row(value, numerator, denominator, sample_size, expected_value) IS NOT DISTINCT FROM
            first_value(row(value, numerator, denominator, sample_size, expected_value)) OVER w) AS same,
           row_number() OVER w AS rank
    FROM typed WHERE structure_code IS NOT NULL AND indicator_code IS NOT NULL AND period_start IS NOT NULL
    WINDOW w AS (PARTITION BY structure_code, indicator_code, period_start, period_end ORDER BY line))
WHERE rank > 1 ORDER BY line
