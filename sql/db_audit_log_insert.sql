-- One entry of the append-only audit log (imports, undos, référentiel changes, sign-ins, grants, refusals).
INSERT INTO audit_log (logged_at, action, import_id, who, subject, detail)
VALUES ($logged_at, $action, $import_id, $who, $subject, $detail)
