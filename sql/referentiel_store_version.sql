-- A référentiel version stored out of force (a separate step puts it in force).
INSERT INTO referentiel_version (version, title, source, origin, created_at, in_force)
VALUES ($version, $title, $source, $origin, $created_at, false)
