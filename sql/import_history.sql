-- The imports a person may see, newest first. $codes: the structures they see (NULL: every import); an import
-- is shown when every structure it touched is among them.
SELECT id, filename, sha256, status, kind, layout, encoding, delimiter, sheet, size_bytes,
       rows_added, rows_replaced, rows_unchanged, structures_added, structures_updated, indicators_added,
       created_by, created_at, undone_at
FROM import_batch b
WHERE $codes::VARCHAR[] IS NULL
   OR (EXISTS (SELECT 1 FROM import_structure i WHERE i.import_id = b.id)
       AND NOT EXISTS (SELECT 1 FROM import_structure i
                       WHERE i.import_id = b.id AND NOT list_contains($codes::VARCHAR[], i.structure_code)))
ORDER BY id DESC;
