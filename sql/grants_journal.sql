-- The audit log, newest first (at equal times, the last written first), at most $limit lines.
SELECT logged_at, action, who, subject, import_id, detail
FROM audit_log
ORDER BY logged_at DESC, rowid DESC
LIMIT $limit
