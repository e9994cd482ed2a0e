-- Revoke a grant in force: it is kept, with who revoked it and when.
UPDATE access_grant SET revoked_by = $revoked_by, revoked_at = $revoked_at
WHERE id = $id AND revoked_at IS NULL
