-- The référentiel versions shipped with the application (an edited version is named after one of them).
SELECT version FROM referentiel_version WHERE origin = 'livre'
