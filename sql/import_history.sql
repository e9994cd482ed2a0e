-- Every import, newest first.
SELECT id, filename, sha256, status, kind, layout, encoding, delimiter, sheet, size_bytes,
       rows_added, rows_replaced, rows_unchanged, structures_added, structures_updated, indicators_added,
       created_by, created_at, undone_at
FROM import_batch
ORDER BY id DESC;
