-- Whether the base holds any value of a structure at all (1) or none (0): why a report is empty. The
-- territories' values (open data) are no structure's.
SELECT count(*) FROM (
    SELECT 1 FROM observation o JOIN structure s ON s.code = o.structure_code AND NOT s.territorial
    LIMIT 1)
