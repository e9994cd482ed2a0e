-- Whether a référentiel version is stored (1) or not (0).
SELECT count(*) FROM referentiel_version WHERE version = $version
