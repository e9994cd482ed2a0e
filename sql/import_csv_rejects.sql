-- The lines DuckDB rejected, except lines of spaces (they look blank in an editor: the user skips them too).
SELECT DISTINCT line, error_type, csv_line FROM reject_errors
WHERE trim(csv_line, ' \t\r\n') <> ''
ORDER BY line
