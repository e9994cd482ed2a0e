-- Indicator cells → the indicator code and what kind of value it takes (NULL code: unknown).
CREATE TABLE indicator_map (k_indicator VARCHAR, k_label VARCHAR, k_unit VARCHAR, code VARCHAR,
                            is_rate BOOLEAN, is_yes_no BOOLEAN, is_delay BOOLEAN, kind VARCHAR)
