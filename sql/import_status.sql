-- An import's state and file name (undo checks that it exists and is in force).
SELECT status, filename FROM import_batch WHERE id = $import_id
