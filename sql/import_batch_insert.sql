-- One import's record. rows_rejected is 0: a file with any rejected row is refused whole, never stored.
INSERT INTO import_batch (id, sha256, filename, size_bytes, kind, layout, encoding, delimiter, sheet, rows_added,
                          rows_replaced, rows_unchanged, rows_rejected, structures_added, structures_updated,
                          indicators_added, created_by, created_by_subject, created_at, status,
                          undone_at)
VALUES ($id, $sha256, $filename, $size, $kind, $layout, $encoding, $delimiter, $sheet, $rows_added,
        $rows_replaced, $rows_unchanged, 0, $structures_added, $structures_updated, $indicators_added,
        $created_by, $created_by_subject, $created_at, $status, NULL)
