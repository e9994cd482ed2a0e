-- Forget one remembered mapping; returns it (nothing when it was not there).
DELETE FROM column_mapping WHERE fingerprint = $fingerprint RETURNING headers
