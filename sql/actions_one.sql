-- One improvement action, removed or not, with its structure's network (to check the person's scope).
SELECT a.id, a.structure_code, s.network, a.title, a.indicators, a.start_on, a.end_on, a.owner, a.comment,
       a.created_by, a.created_at, a.removed_by, a.removed_at
FROM improvement_action a
LEFT JOIN structure s ON s.code = a.structure_code
WHERE a.id = $id
