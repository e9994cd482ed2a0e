-- How many administrator grants are in force: the last one is never revoked (nobody could manage grants after it).
SELECT count(*) FROM access_grant WHERE role = 'administrateur' AND revoked_at IS NULL
