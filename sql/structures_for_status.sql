-- Structures to assess, with their register data and label. $codes: those the person sees (NULL: all).
-- Territories of the open data are never assessed.
SELECT code, name, network, typologie, departement, region, parent_code, label_level, label_awarded_on
FROM structure
WHERE NOT territorial
  AND ($structure::VARCHAR IS NULL OR code = $structure::VARCHAR)
  AND ($codes::VARCHAR[] IS NULL OR list_contains($codes::VARCHAR[], code))
ORDER BY code
