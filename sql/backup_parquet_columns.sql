-- The columns of a backup's Parquet file, as DuckDB reads them ($path bound).
DESCRIBE SELECT * FROM read_parquet($path)
