-- Structures of the register not known yet; columns it does not carry stay empty. Returns how many.
-- {columns}: code and the register's columns, from the STRUCTURE_ROLES allow-list.
INSERT INTO structure BY NAME
SELECT {columns}, $import_id AS import_id FROM incoming WHERE code NOT IN (SELECT code FROM structure)
