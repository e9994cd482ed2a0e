-- One indicator of a référentiel version (run once per indicator).
INSERT INTO indicator (version, code, label, engagement, unit, direction, kind, periodicity, required, min_n,
                       min_n_provenance, numerator_label)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
