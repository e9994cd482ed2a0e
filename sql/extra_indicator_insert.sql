-- An indicator outside the référentiel, created by an import unless it already exists; returns it when created.
INSERT INTO extra_indicator
SELECT $code, $label, $unit, $import_id
WHERE NOT EXISTS (SELECT 1 FROM extra_indicator WHERE code = $code)
RETURNING code
