-- The distinct period cells of a file: few, parsed in Python.
SELECT DISTINCT period, period_start, period_end, frequency, duration FROM distinct_keys
