-- A new référentiel version starts with every column of the indicators of the version it is edited from, so
-- that a column added later is copied too.
INSERT INTO indicator SELECT * REPLACE ($version::VARCHAR AS version) FROM indicator WHERE version = $base
