-- Structures named by an observation file and unknown so far are created, attributed to the import.
-- Existing structures are left as they are: a register of structures is the way to change them.
INSERT INTO structure (code, name, network, typologie, import_id)
SELECT code, name, network, typologie, $import_id
FROM incoming_structures
WHERE code NOT IN (SELECT code FROM structure);
