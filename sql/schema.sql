-- Schema of the embedded database. Idempotent: run at every connection.

CREATE TABLE IF NOT EXISTS import_batch (
    id INTEGER PRIMARY KEY,
    sha256 VARCHAR NOT NULL,
    filename VARCHAR NOT NULL,          -- as uploaded: metadata only, never a path
    size_bytes BIGINT,
    kind VARCHAR NOT NULL,              -- observations | structures
    layout VARCHAR,
    encoding VARCHAR,
    delimiter VARCHAR,
    sheet VARCHAR,
    rows_added INTEGER NOT NULL DEFAULT 0,
    rows_replaced INTEGER NOT NULL DEFAULT 0,
    rows_unchanged INTEGER NOT NULL DEFAULT 0,
    rows_rejected INTEGER NOT NULL DEFAULT 0,
    structures_added INTEGER NOT NULL DEFAULT 0,
    structures_updated INTEGER NOT NULL DEFAULT 0,
    indicators_added INTEGER NOT NULL DEFAULT 0,
    created_by VARCHAR,
    created_at TIMESTAMP NOT NULL,
    status VARCHAR NOT NULL,            -- importe | annule
    undone_at TIMESTAMP
);

CREATE TABLE IF NOT EXISTS structure (
    code VARCHAR PRIMARY KEY,
    name VARCHAR,
    network VARCHAR,
    typologie VARCHAR,
    departement VARCHAR,                -- text: 01, 2A, 971
    region VARCHAR,
    parent_code VARCHAR,
    label_level VARCHAR,                -- bronze | argent | or | NULL
    label_awarded_on DATE,
    import_id INTEGER NOT NULL          -- the import that created or last changed the row
);

-- Earlier states of structures, kept when an import changed them (undo puts them back).
CREATE TABLE IF NOT EXISTS structure_history (
    code VARCHAR, name VARCHAR, network VARCHAR, typologie VARCHAR, departement VARCHAR, region VARCHAR,
    parent_code VARCHAR, label_level VARCHAR, label_awarded_on DATE, import_id INTEGER,
    replaced_by INTEGER NOT NULL
);

-- Live values: one per (structure, indicator, period), enforced by the importer under its lock.
CREATE TABLE IF NOT EXISTS observation (
    structure_code VARCHAR NOT NULL,
    indicator_code VARCHAR NOT NULL,
    period_start DATE NOT NULL,
    period_end DATE NOT NULL,
    value DOUBLE,
    numerator DOUBLE,
    denominator DOUBLE,
    sample_size DOUBLE,
    expected_value DOUBLE,
    import_id INTEGER NOT NULL,
    source_sheet VARCHAR,
    source_line INTEGER
);

-- Values replaced by a later import, kept as history (undo puts them back).
CREATE TABLE IF NOT EXISTS observation_history (
    structure_code VARCHAR, indicator_code VARCHAR, period_start DATE, period_end DATE, value DOUBLE,
    numerator DOUBLE, denominator DOUBLE, sample_size DOUBLE, expected_value DOUBLE, import_id INTEGER,
    source_sheet VARCHAR, source_line INTEGER,
    replaced_by INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS referentiel_version (
    version VARCHAR PRIMARY KEY,
    title VARCHAR NOT NULL,
    source VARCHAR,
    origin VARCHAR NOT NULL,            -- livre (shipped file) | edition (administrator)
    created_at TIMESTAMP NOT NULL,
    in_force BOOLEAN NOT NULL DEFAULT false
);

CREATE TABLE IF NOT EXISTS engagement (
    version VARCHAR NOT NULL,
    number INTEGER NOT NULL,
    theme VARCHAR NOT NULL,
    label VARCHAR NOT NULL,
    PRIMARY KEY (version, number)
);

CREATE TABLE IF NOT EXISTS indicator (
    version VARCHAR NOT NULL,
    code VARCHAR NOT NULL,
    label VARCHAR NOT NULL,
    engagement INTEGER,
    unit VARCHAR NOT NULL,
    direction VARCHAR NOT NULL,         -- hausse (higher is better) | baisse
    kind VARCHAR NOT NULL,              -- ratio | mean | latest
    periodicity VARCHAR NOT NULL,
    required BOOLEAN NOT NULL,
    min_n INTEGER,
    min_n_provenance VARCHAR,
    numerator_label VARCHAR,            -- what the numerator counts: « appels décrochés »
    PRIMARY KEY (version, code)
);

CREATE TABLE IF NOT EXISTS threshold (
    version VARCHAR NOT NULL,
    indicator_code VARCHAR NOT NULL,
    level VARCHAR NOT NULL,             -- bronze | argent | or
    value DOUBLE NOT NULL,
    provenance VARCHAR NOT NULL,
    PRIMARY KEY (version, indicator_code, level)
);

-- Indicators met in open-data files that the référentiel does not know: kept, never dropped.
CREATE TABLE IF NOT EXISTS extra_indicator (
    code VARCHAR PRIMARY KEY,
    label VARCHAR,
    unit VARCHAR,
    import_id INTEGER NOT NULL
);

-- Append-only log of imports, undos and référentiel changes.
CREATE TABLE IF NOT EXISTS audit_log (
    logged_at TIMESTAMP NOT NULL,
    action VARCHAR NOT NULL,
    import_id INTEGER,
    who VARCHAR,
    detail VARCHAR
);

-- Who may see and change what: one row per grant. A revoked grant is kept (revoked_at), never deleted.
CREATE TABLE IF NOT EXISTS access_grant (
    id INTEGER PRIMARY KEY,
    email VARCHAR,                      -- lower case: matches a person before their first sign-in
    subject VARCHAR,                    -- the provider's « sub », recorded at the first sign-in
    role VARCHAR NOT NULL,              -- administrateur | tete_de_reseau | directeur | lecteur
    networks VARCHAR[] NOT NULL,        -- scope by network (tête de réseau, lecteur)
    structures VARCHAR[] NOT NULL,      -- scope by structure code (directeur, lecteur)
    granted_by VARCHAR NOT NULL,
    granted_at TIMESTAMP NOT NULL,
    revoked_by VARCHAR,
    revoked_at TIMESTAMP
);

-- The structures each import touched: the history and undo are scoped by them.
CREATE TABLE IF NOT EXISTS import_structure (
    import_id INTEGER NOT NULL,
    structure_code VARCHAR NOT NULL
);

-- Bases made before sign-in existed: who is also known by the provider's subject.
ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS subject VARCHAR;
ALTER TABLE import_batch ADD COLUMN IF NOT EXISTS created_by_subject VARCHAR;

-- Territories (départements, régions, national) described by the open-data baromètre: kept beside the
-- structures for their own view, never counted as labellable services.
ALTER TABLE structure ADD COLUMN IF NOT EXISTS territorial BOOLEAN DEFAULT false;

-- Column mappings a person confirmed for a file's headers, reused when the same headers come again.
CREATE TABLE IF NOT EXISTS column_mapping (
    fingerprint VARCHAR PRIMARY KEY,    -- sha256 of the file's normalised headers, in order
    headers VARCHAR NOT NULL,           -- the headers as written, joined by « | », to show
    mapping VARCHAR NOT NULL,           -- JSON: header as written -> target (« code », « code:numerateur ») or null
    created_by VARCHAR NOT NULL,
    created_by_subject VARCHAR,
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);

-- Improvement actions a service records (issue 13): what it changed, on which indicators, from when. A removed
-- action is kept (removed_at), like a revoked grant: its record and its lines of the journal stay.
CREATE TABLE IF NOT EXISTS improvement_action (
    id INTEGER PRIMARY KEY,             -- max + 1 under the write lock (sql/actions_next_id.sql)
    structure_code VARCHAR NOT NULL,
    title VARCHAR NOT NULL,
    indicators VARCHAR[] NOT NULL,      -- codes of the référentiel indicators it aims at
    start_on DATE NOT NULL,
    end_on DATE,
    owner VARCHAR,
    comment VARCHAR,
    created_by VARCHAR NOT NULL,
    created_by_subject VARCHAR,
    created_at TIMESTAMP NOT NULL,
    removed_by VARCHAR,
    removed_at TIMESTAMP
);
