-- The networks of the register, to choose a grant's scope from.
SELECT DISTINCT network FROM structure WHERE network IS NOT NULL AND trim(network) <> '' ORDER BY network
