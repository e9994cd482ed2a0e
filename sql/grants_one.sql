-- One grant by its number, in force or revoked (no row: no such grant).
SELECT id, email, subject, role, networks, structures, granted_by, granted_at, revoked_by, revoked_at
FROM access_grant
WHERE id = $id
