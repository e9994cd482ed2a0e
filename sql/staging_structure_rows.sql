-- A register's rows in file order, checked one by one in Python (structures are few).
SELECT line, code, name, network, typologie, departement, region, parent_code, label_level, label_awarded_on
FROM typed
ORDER BY line
