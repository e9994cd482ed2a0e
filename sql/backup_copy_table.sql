-- One table into its Parquet file ({table} from the schema's allow-list, $target bound); returns the rows written.
COPY (SELECT * FROM {table}) TO $target (FORMAT parquet, COMPRESSION zstd)
