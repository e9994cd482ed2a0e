-- How many records DuckDB read from a CSV.
SELECT count(*) FROM raw
