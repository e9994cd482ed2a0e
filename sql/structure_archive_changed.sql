-- The current state of every structure about to change, kept for undo.
-- {columns}: every structure column, from the STRUCTURE_ROLES allow-list.
INSERT INTO structure_history
SELECT {columns}, import_id, $import_id FROM structure WHERE code IN (SELECT code FROM changed)
