-- The values an import brought are removed; returns how many.
DELETE FROM observation WHERE import_id = $import_id
