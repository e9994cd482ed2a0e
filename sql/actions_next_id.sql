-- The number of the next improvement action (inside the write transaction: writers never interleave).
SELECT coalesce(max(id), 0) + 1 FROM improvement_action
