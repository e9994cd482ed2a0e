-- A confirmed mapping for a file's headers: a new one replaces the one saved for the same headers.
INSERT OR REPLACE INTO column_mapping (fingerprint, headers, mapping, created_by, created_by_subject, created_at,
                                       used_at)
VALUES ($fingerprint, $headers, $mapping, $created_by, $subject, $now, $now)
