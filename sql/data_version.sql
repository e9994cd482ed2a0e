-- What changes with every import, undo and référentiel edit: the pages' cache key.
SELECT (SELECT count(*) FROM import_batch) AS imports,
       (SELECT count(*) FROM import_batch WHERE status = 'annule') AS undone,
       (SELECT version FROM referentiel_version WHERE in_force) AS referentiel,
       (SELECT count(*) FROM referentiel_version) AS referentiel_versions
