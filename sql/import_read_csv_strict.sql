-- A CSV's cells as text, parsed by DuckDB with explicit options; most files are well formed: no rejects kept.
CREATE OR REPLACE TABLE raw AS
SELECT * FROM read_csv(?, header = false, skip = ?, delim = ?, quote = '"', escape = '"', columns = ?,
                       auto_detect = false, strict_mode = true, null_padding = false, max_line_size = ?,
                       ignore_errors = false)
