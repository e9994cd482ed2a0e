-- The number of the next grant (inside the write transaction: writers never interleave).
SELECT coalesce(max(id), 0) + 1 FROM access_grant
