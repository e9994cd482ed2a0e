-- The networks of the register, to choose a grant's scope from.
SELECT DISTINCT network FROM structure
WHERE NOT territorial AND network IS NOT NULL AND trim(network) <> '' ORDER BY network
