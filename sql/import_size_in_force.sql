-- How many imports in force have exactly this size: none means the content is new (no hash needed first).
SELECT count(*) FROM import_batch WHERE size_bytes = $size AND status = $status
