-- The written rates of these indicators become percentages (a rate computed from counts already is one).
UPDATE typed SET value = value * 100
WHERE is_rate AND value_text IS NOT NULL AND value IS NOT NULL AND list_contains(?, indicator_code)
