-- The next import number, under the write lock: max + 1, not a sequence, so a dry run uses up no number.
SELECT coalesce(max(id), 0) + 1 FROM import_batch
