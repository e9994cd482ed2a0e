-- A person's grants in force (role, networks, structures), by provider subject or by e-mail.
SELECT role, networks, structures
FROM access_grant
WHERE revoked_at IS NULL
  AND (subject = $subject::VARCHAR OR (subject IS NULL AND email = $email::VARCHAR))
ORDER BY id
