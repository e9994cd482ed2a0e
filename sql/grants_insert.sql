-- One new grant, in force from now.
INSERT INTO access_grant (id, email, subject, role, networks, structures, granted_by, granted_at)
VALUES ($id, $email, $subject, $role, $networks::VARCHAR[], $structures::VARCHAR[], $granted_by, $granted_at)
