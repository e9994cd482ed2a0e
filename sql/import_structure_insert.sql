-- The structures an import touched, for the scoped history and undo.
-- {source}: incoming (a register) or incoming_structures (a values file), from the importer's code.
INSERT INTO import_structure SELECT DISTINCT $import_id, code FROM {source}
