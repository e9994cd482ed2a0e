-- Known structures whose given columns differ from the register (EXCEPT compares NULLs as equal).
-- {columns}: code and the register's columns, from the STRUCTURE_ROLES allow-list.
CREATE TEMP TABLE changed AS
SELECT code FROM (SELECT {columns} FROM incoming EXCEPT SELECT {columns} FROM structure)
-- Territories of the open data are not in a register's hands: their own files bring them.
WHERE code IN (SELECT code FROM structure WHERE NOT territorial)
