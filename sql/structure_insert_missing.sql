-- Structures named by an observation file and unknown so far are created, attributed to the import; one
-- without a name is named by its code until a register or the preview names it (never left empty).
-- Existing structures are left as they are: a register of structures is the way to change them.
-- The baromètre's départements, régions and national figures are created as territories.
INSERT INTO structure (code, name, network, typologie, import_id, territorial)
SELECT code, coalesce(name, code), network, typologie, $import_id, $territorial
FROM incoming_structures
WHERE code NOT IN (SELECT code FROM structure);
