-- The rows of a backup's Parquet file ($path bound; read from its metadata).
SELECT count(*) FROM read_parquet($path)
