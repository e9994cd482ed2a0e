-- The import in force that brought exactly this content (by its SHA-256), if any.
SELECT max(id) FROM import_batch WHERE sha256 = $sha256 AND status = $status
