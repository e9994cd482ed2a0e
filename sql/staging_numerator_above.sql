-- Lines whose numerator exceeds the denominator.
SELECT line, numerator_col FROM typed WHERE numerator > denominator
