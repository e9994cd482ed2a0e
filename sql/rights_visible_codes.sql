-- The codes of the structures a person sees named: theirs by code, or by network (territories are no structures).
SELECT code FROM structure
WHERE NOT territorial
  AND (list_contains($codes::VARCHAR[], code) OR list_contains($networks::VARCHAR[], network))
ORDER BY code
