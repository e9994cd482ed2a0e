-- Lines whose count ({field}: numerator, denominator or sample_size, from the code) is negative.
SELECT line, {field}_col FROM typed WHERE {field} < 0
