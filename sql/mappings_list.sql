-- The remembered column mappings, most recently used first, for the Import page.
SELECT fingerprint, headers, mapping, created_by, created_at, used_at
FROM column_mapping
ORDER BY coalesce(used_at, created_at) DESC
