-- The columns of aggregate_window.sql for every structure × rolling window × indicator at once (the level
-- history), one row per cell that has data: cell = (structure × months + month) × indicators + indicator, the
-- positions in $structures, $ends and $indicators. $starts, $ends: the windows (first and last day, one per
-- month); $structures: the codes assessed; $indicators: the référentiel's codes in the rules' order; $latest: the
-- « latest » ones. The same rules as aggregate_window.sql: an observation counts in a window when its whole period
-- lies inside it (a range join on the windows: a monthly value counts in 12 windows, a quarterly one in 10, a
-- yearly one in 1), and a « latest » indicator takes the values whose period ends in the 12 months up to the
-- window's end. Left out, as they change no level: the window's last value (the engine reads it for « latest »
-- indicators only, which take the last year's instead) and the latest data received (freshness).
WITH windows AS (
    SELECT unnest($starts::DATE[]) AS window_start, unnest($ends::DATE[]) AS window_end,
           generate_subscripts($ends::DATE[], 1) - 1 AS month
),
seen AS (
    SELECT unnest($structures::VARCHAR[]) AS code, generate_subscripts($structures::VARCHAR[], 1) - 1 AS structure
),
rules AS (
    SELECT unnest($indicators::VARCHAR[]) AS code, generate_subscripts($indicators::VARCHAR[], 1) - 1 AS position
),
-- One integer key, the cell of the first month: grouping 30 million joined rows by strings, or by three keys,
-- costs several times the sums themselves.
mine AS NOT MATERIALIZED (
    SELECT s.structure * len($ends::DATE[]) * len($indicators::VARCHAR[]) + r.position AS first_cell,
           list_contains($latest::VARCHAR[], r.code) AS latest,
           o.period_start, o.period_end, o.value, o.numerator, o.denominator, o.sample_size
    FROM observation o JOIN seen s ON s.code = o.structure_code JOIN rules r ON r.code = o.indicator_code
),
win AS (
    SELECT first_cell + w.month * len($indicators::VARCHAR[]) AS cell,
           count(*) AS n_obs,
           sum(numerator) AS sum_num, count(numerator) AS n_num,
           sum(denominator) AS sum_den, count(denominator) AS n_den,
           sum(sample_size) AS sum_eff, count(sample_size) AS n_eff,
           avg(value) AS mean_value,
           -- ratio weights: the denominator, else the sample size; mean weights: the sample size
           sum(value * coalesce(denominator, sample_size)) AS sum_weighted_ratio,
           sum(coalesce(denominator, sample_size)) AS sum_weight_ratio,
           count(coalesce(denominator, sample_size)) AS n_weight_ratio,
           sum(value * sample_size) AS sum_weighted_mean
    FROM mine JOIN windows w ON period_start >= w.window_start AND period_end <= w.window_end
    GROUP BY cell
),
recent AS (
    SELECT first_cell + w.month * len($indicators::VARCHAR[]) AS cell,
           count(*) AS n_last_year, arg_max(value, period_end) AS last_year_value
    FROM mine JOIN windows w ON period_end <= w.window_end AND period_end > w.window_end - INTERVAL 12 MONTH
    WHERE latest
    GROUP BY cell
)
SELECT cell, win.* EXCLUDE (cell), recent.* EXCLUDE (cell)
FROM win FULL JOIN recent USING (cell)
