-- A new référentiel version starts with the engagements of the version it is edited from.
INSERT INTO engagement SELECT $version, number, theme, label FROM engagement WHERE version = $base
