-- Put one référentiel version in force, every other out of force.
UPDATE referentiel_version SET in_force = (version = $version)
