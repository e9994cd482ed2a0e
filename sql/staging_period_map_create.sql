-- Period cells → dates, or the rule they break (p_rule, with the role and value shown).
CREATE TABLE period_map_in (k_period VARCHAR, k_start VARCHAR, k_end VARCHAR, k_frequency VARCHAR,
                            k_duration VARCHAR, p_start DATE, p_end DATE, p_rule VARCHAR, p_role VARCHAR,
                            p_value VARCHAR)
