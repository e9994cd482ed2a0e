-- The distinct indicator cells of a file: few, resolved in Python against the référentiel.
SELECT DISTINCT indicator, indicator_label, unit FROM distinct_keys
