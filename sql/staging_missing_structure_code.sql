-- Lines without a structure code.
SELECT line, NULL, NULL FROM typed WHERE structure_code IS NULL ORDER BY line
