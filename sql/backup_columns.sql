-- The columns of every table of the open base, in order (its own catalogue: an import's temporary tables left out).
SELECT table_name, column_name, data_type
FROM information_schema.columns
WHERE table_catalog = current_database() AND table_schema = 'main'
ORDER BY table_name, ordinal_position
