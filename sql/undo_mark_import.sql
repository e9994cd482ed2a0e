-- The import is kept in the history, marked undone.
UPDATE import_batch SET status = $status, undone_at = $undone_at WHERE id = $import_id
