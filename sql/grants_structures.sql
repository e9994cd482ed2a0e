-- The structures of the register (code and name), to choose a grant's scope from (no territory).
SELECT code, name, network FROM structure WHERE NOT territorial ORDER BY code
