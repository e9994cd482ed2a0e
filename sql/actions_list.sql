-- The actions still recorded, of one structure ($structure) or all, among the structures a person sees ($codes:
-- rights.codes_filter, NULL for all); by structure, newest start first.
SELECT a.id, a.structure_code, coalesce(s.name, a.structure_code) AS structure_name, s.network, a.title,
       a.indicators, a.start_on, a.end_on, a.owner, a.comment, a.created_by, a.created_at
FROM improvement_action a
JOIN structure s ON s.code = a.structure_code AND NOT s.territorial
WHERE a.removed_at IS NULL
  AND ($structure::VARCHAR IS NULL OR a.structure_code = $structure::VARCHAR)
  AND ($codes::VARCHAR[] IS NULL OR list_contains($codes::VARCHAR[], a.structure_code))
ORDER BY a.structure_code, a.start_on DESC, a.id DESC
