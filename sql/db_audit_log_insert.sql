-- One entry of the append-only audit log (imports, undos, référentiel changes).
INSERT INTO audit_log (logged_at, action, import_id, who, detail)
VALUES ($logged_at, $action, $import_id, $who, $detail)
