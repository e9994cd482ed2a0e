-- What changes with every import, undo, référentiel edit and improvement action: the pages' cache key.
SELECT (SELECT count(*) FROM import_batch) AS imports,
       (SELECT count(*) FROM import_batch WHERE status = 'annule') AS undone,
       (SELECT version FROM referentiel_version WHERE in_force) AS referentiel,
       (SELECT count(*) FROM referentiel_version) AS referentiel_versions,
       (SELECT count(*) FROM improvement_action) AS actions,
       (SELECT count(*) FROM improvement_action WHERE removed_at IS NOT NULL) AS actions_removed
