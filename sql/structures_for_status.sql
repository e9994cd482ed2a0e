-- Structures to assess, with their register data and label.
SELECT code, name, network, typologie, departement, region, parent_code, label_level, label_awarded_on
FROM structure
WHERE $structure::VARCHAR IS NULL OR code = $structure::VARCHAR
ORDER BY code
