-- Every référentiel version for the Référentiel page, newest first.
SELECT version, title, origin, created_at, in_force FROM referentiel_version
ORDER BY created_at DESC, version DESC
