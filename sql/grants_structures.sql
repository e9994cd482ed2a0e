-- The structures of the register (code and name), to choose a grant's scope from.
SELECT code, name, network FROM structure ORDER BY code
