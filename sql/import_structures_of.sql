-- The structures one import touched.
SELECT structure_code FROM import_structure WHERE import_id = $import_id ORDER BY structure_code
