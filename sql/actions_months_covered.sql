-- Per structure × indicator among $structures × $indicators, the calendar months of [$start, $end] covered by
-- observations lying wholly inside it (the engine's rule: only those count), and whether some observation
-- overlaps it without lying inside (a quarter or a year across its bounds). A before/after needs every month.
WITH touching AS (
    SELECT structure_code, indicator_code, period_start, period_end,
           period_start >= $start AND period_end <= $end AS inside
    FROM observation
    WHERE list_contains($structures::VARCHAR[], structure_code)
      AND list_contains($indicators::VARCHAR[], indicator_code)
      AND period_start <= $end AND period_end >= $start
),
months AS (
    SELECT structure_code, indicator_code, inside,
           unnest(generate_series(date_trunc('month', period_start)::DATE, period_end, INTERVAL 1 MONTH)) AS month
    FROM touching
)
SELECT structure_code, indicator_code, count(DISTINCT month) FILTER (WHERE inside) AS months_covered,
       bool_or(NOT inside) AS straddles
FROM months
GROUP BY structure_code, indicator_code
