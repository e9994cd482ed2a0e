-- Every row typed: period and indicator mapped, numbers parsed, a ratio's value computed from its counts.
CREATE TABLE typed AS
WITH counted AS (  -- each count parsed once: the value may be computed from them
    SELECT *, num_val(numerator) AS numerator_number, num_val(denominator) AS denominator_number FROM staged)
SELECT s.line, s.structure_code, s.structure_name, s.network, s.typologie, m.code AS indicator_code,
       p.p_start AS period_start, p.p_end AS period_end, p.p_rule, p.p_role, p.p_value,
       m.is_rate, m.is_delay, m.is_yes_no, m.kind,
       s.value AS value_text, s.numerator IS NOT NULL AS numerator_given,
       s.denominator IS NOT NULL AS denominator_given, s.sample_size IS NOT NULL AS sample_size_given,
       s.expected_value IS NOT NULL AS expected_value_given,
       s.value_col, s.numerator_col, s.denominator_col, s.sample_size_col,
       CASE WHEN m.is_yes_no THEN yes_no(s.value)
            WHEN s.value IS NOT NULL THEN num_val(s.value)
            -- A rate given only by its counts: the value is computed from them.
            WHEN m.kind = 'ratio' AND s.denominator_number > 0
                THEN round(100 * s.numerator_number / s.denominator_number, 6) END AS value,
       s.numerator_number AS numerator, s.denominator_number AS denominator,
       coalesce(num_val(s.sample_size),
                num_val(s.satisfied) + num_val(s.dissatisfied) + coalesce(num_val(s.no_opinion), 0)) AS sample_size,
       num_val(s.expected_value) AS expected_value
FROM counted s
JOIN indicator_map m ON s.indicator IS NOT DISTINCT FROM m.k_indicator
    AND s.indicator_label IS NOT DISTINCT FROM m.k_label AND s.unit IS NOT DISTINCT FROM m.k_unit
JOIN period_map_in p ON s.period IS NOT DISTINCT FROM p.k_period AND s.period_start IS NOT DISTINCT FROM p.k_start
    AND s.period_end IS NOT DISTINCT FROM p.k_end AND s.frequency IS NOT DISTINCT FROM p.k_frequency
    AND s.duration IS NOT DISTINCT FROM p.k_duration
