-- The same reading keeping DuckDB's rejected lines (within a budget), when the strict reading failed.
CREATE OR REPLACE TABLE raw AS
SELECT * FROM read_csv(?, header = false, skip = ?, delim = ?, quote = '"', escape = '"', columns = ?,
                       auto_detect = false, strict_mode = true, null_padding = false, max_line_size = ?,
                       store_rejects = true, rejects_limit = ?, ignore_errors = true)
