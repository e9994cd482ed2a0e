-- One row per structure × indicator of the référentiel version: what the compliance
-- engine needs over the window. $start, $end: the window (an observation counts when its whole period
-- lies inside it); $structure: one code or NULL for all; $codes: the structures the person sees (NULL: all,
-- rights.codes_filter); $version: the référentiel version. Territories (open data) are no structures here.
-- Two aggregations, each over the rows it needs: the window's values, and the latest data (freshness,
-- and « latest » indicators: a yes/no holds for the 12 months up to the window's end).
WITH win AS (
    SELECT structure_code, indicator_code,
           count(*) AS n_obs,
           sum(numerator) AS sum_num, count(numerator) AS n_num,
           sum(denominator) AS sum_den, count(denominator) AS n_den,
           sum(sample_size) AS sum_eff, count(sample_size) AS n_eff,
           avg(value) AS mean_value,
           -- ratio weights: the denominator, else the sample size; mean weights: the sample size
           sum(value * coalesce(denominator, sample_size)) AS sum_weighted_ratio,
           sum(coalesce(denominator, sample_size)) AS sum_weight_ratio,
           count(coalesce(denominator, sample_size)) AS n_weight_ratio,
           sum(value * sample_size) AS sum_weighted_mean,
           arg_max(value, period_end) AS last_value
    FROM observation
    WHERE period_start >= $start AND period_end <= $end
      AND ($structure::VARCHAR IS NULL OR structure_code = $structure::VARCHAR)
    GROUP BY structure_code, indicator_code
),
recent AS (
    SELECT structure_code, indicator_code,
           max(period_end) AS last_period_end,
           count(*) FILTER (WHERE period_end <= $end AND period_end > $end::DATE - INTERVAL 12 MONTH)
               AS n_last_year,
           arg_max(value, period_end) FILTER (WHERE period_end <= $end
                                                AND period_end > $end::DATE - INTERVAL 12 MONTH)
               AS last_year_value
    FROM observation
    WHERE $structure::VARCHAR IS NULL OR structure_code = $structure::VARCHAR
    GROUP BY structure_code, indicator_code
),
-- Only the indicators' codes: their texts (label, unit…) are gathered in pandas from 8 rows, not 120 000
-- copies. position: the order of indicators within a structure, the same as the rules' order in pandas.
rules AS (
    SELECT code AS indicator_code, row_number() OVER (ORDER BY engagement, code) AS position
    FROM indicator WHERE version = $version
)
SELECT s.code AS structure_code, rules.indicator_code, win.* EXCLUDE (structure_code, indicator_code),
       recent.* EXCLUDE (structure_code, indicator_code)
FROM structure s
CROSS JOIN rules
LEFT JOIN win ON win.structure_code = s.code AND win.indicator_code = rules.indicator_code
LEFT JOIN recent ON recent.structure_code = s.code AND recent.indicator_code = rules.indicator_code
WHERE NOT s.territorial
  AND ($structure::VARCHAR IS NULL OR s.code = $structure::VARCHAR)
  AND ($codes::VARCHAR[] IS NULL OR list_contains($codes::VARCHAR[], s.code))
ORDER BY s.code, rules.position
