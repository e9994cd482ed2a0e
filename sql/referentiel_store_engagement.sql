-- One engagement of a référentiel version (run once per engagement).
INSERT INTO engagement (version, number, theme, label) VALUES (?, ?, ?, ?)
