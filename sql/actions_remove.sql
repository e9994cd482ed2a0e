-- Remove an action still recorded: it is kept, with who removed it and when.
UPDATE improvement_action SET removed_by = $removed_by, removed_at = $removed_at
WHERE id = $id AND removed_at IS NULL
