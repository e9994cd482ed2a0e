-- Lines whose period breaks a rule, with the cell that breaks it.
SELECT p_rule, p_role, p_value, line FROM typed WHERE p_rule IS NOT NULL ORDER BY line
