-- The référentiel version in force (none only before the first start has finished).
SELECT version FROM referentiel_version WHERE in_force
