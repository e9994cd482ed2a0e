-- One threshold of a référentiel version: an indicator's value for one level, with its provenance.
INSERT INTO threshold (version, indicator_code, level, value, provenance) VALUES (?, ?, ?, ?, ?)
