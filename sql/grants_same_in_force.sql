-- A grant in force identical to a new one: same person (by e-mail or subject), role and scope (lists sorted).
SELECT id FROM access_grant
WHERE revoked_at IS NULL AND role = $role
  AND (($email::VARCHAR IS NOT NULL AND email = $email) OR ($subject::VARCHAR IS NOT NULL AND subject = $subject))
  AND list_sort(networks) = $networks::VARCHAR[] AND list_sort(structures) = $structures::VARCHAR[]
ORDER BY id
LIMIT 1
