-- One pass over the rows for both small maps: indicators and periods are few, rows are many.
CREATE TABLE distinct_keys AS
SELECT indicator, indicator_label, unit, period, period_start, period_end, frequency, duration,
       min(line) AS first_line
FROM staged
GROUP BY ALL
