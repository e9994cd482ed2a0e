-- Every référentiel version already stored (the shipped ones missing are loaded at start).
SELECT version FROM referentiel_version
