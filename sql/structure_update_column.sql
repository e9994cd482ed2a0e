-- One column of the changed structures takes the register's value ({column}: from STRUCTURE_ROLES).
UPDATE structure s SET {column} = i.{column}, import_id = $import_id
FROM incoming i
WHERE s.code = i.code AND s.code IN (SELECT code FROM changed)
