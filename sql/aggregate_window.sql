-- Per structure × indicator: what the compliance rules need over a window, in one pass.
-- $start, $end: the window (an observation counts when its whole period lies inside it);
-- $structure: one structure code, or NULL for all. last_period_end looks at all data (freshness).
-- A « latest » indicator (yes/no) takes the most recent value of the 12 months up to the window's end:
-- « results published less than 12 months ago » holds for a year, whatever the window's length.
WITH rows AS (
    SELECT *,
           period_start >= $start AND period_end <= $end AS in_window,
           period_end <= $end AND period_end > $end::DATE - INTERVAL 12 MONTH AS in_last_year
    FROM observation
    WHERE $structure::VARCHAR IS NULL OR structure_code = $structure::VARCHAR
)
SELECT structure_code,
       indicator_code,
       count(*) FILTER (WHERE in_window) AS n_obs,
       sum(numerator) FILTER (WHERE in_window) AS sum_num,
       count(numerator) FILTER (WHERE in_window) AS n_num,
       sum(denominator) FILTER (WHERE in_window) AS sum_den,
       count(denominator) FILTER (WHERE in_window) AS n_den,
       sum(sample_size) FILTER (WHERE in_window) AS sum_eff,
       count(sample_size) FILTER (WHERE in_window) AS n_eff,
       avg(value) FILTER (WHERE in_window) AS mean_value,
       -- ratio weights: the denominator, else the sample size
       sum(value * coalesce(denominator, sample_size)) FILTER (WHERE in_window) AS sum_weighted_ratio,
       sum(coalesce(denominator, sample_size)) FILTER (WHERE in_window) AS sum_weight_ratio,
       count(coalesce(denominator, sample_size)) FILTER (WHERE in_window) AS n_weight_ratio,
       -- mean weights: the sample size
       sum(value * sample_size) FILTER (WHERE in_window) AS sum_weighted_mean,
       arg_max(value, period_end) FILTER (WHERE in_window) AS last_value,
       count(*) FILTER (WHERE in_last_year) AS n_last_year,
       arg_max(value, period_end) FILTER (WHERE in_last_year) AS last_year_value,
       max(period_end) AS last_period_end
FROM rows
GROUP BY structure_code, indicator_code
