-- One table of the base being restored, from its Parquet file ({table} from the schema's allow-list, $path bound).
INSERT INTO {table} BY NAME SELECT * FROM read_parquet($path)
