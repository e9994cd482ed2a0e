-- The grants, newest first: those in force, or every one ever made when $include_revoked.
SELECT id, email, subject, role, networks, structures, granted_by, granted_at, revoked_by, revoked_at
FROM access_grant
WHERE $include_revoked OR revoked_at IS NULL
ORDER BY id DESC
