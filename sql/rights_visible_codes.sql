-- The codes of the structures a person sees named: theirs by code, or by network.
SELECT code FROM structure
WHERE list_contains($codes::VARCHAR[], code) OR list_contains($networks::VARCHAR[], network)
ORDER BY code
