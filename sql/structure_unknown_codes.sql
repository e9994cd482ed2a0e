-- The codes a file names that the register does not know yet: the structures an import would create.
SELECT code FROM (SELECT unnest($codes::VARCHAR[]) AS code) WHERE code NOT IN (SELECT code FROM structure) ORDER BY code
