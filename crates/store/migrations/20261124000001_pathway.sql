-- One migration set for SQLite and PostgreSQL: a portable subset only.
-- Integer ids are BIGINT assigned from id_counters (no AUTOINCREMENT/SERIAL, which differ);
-- timestamps are TEXT in one fixed UTC form (2026-11-24T09:30:00Z) that sorts as text;
-- booleans are BIGINT 0/1; enumerations are TEXT codes owned by marrow-domain.

CREATE TABLE id_counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO id_counters (name, value) VALUES
    ('users', 0), ('api_tokens', 0), ('patients', 0), ('cases', 0), ('specimens', 0), ('audit', 0);

CREATE TABLE users (
    id BIGINT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    active BIGINT NOT NULL,
    created_at TEXT NOT NULL
);

-- Session and API tokens are stored as SHA-256 hashes: a copy of the database does not log
-- anyone in.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id BIGINT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

CREATE TABLE patients (
    id BIGINT PRIMARY KEY,
    mrn TEXT NOT NULL UNIQUE,
    family_name TEXT NOT NULL,
    given_name TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    sex TEXT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL
);

CREATE TABLE cases (
    id BIGINT PRIMARY KEY,
    patient_id BIGINT NOT NULL REFERENCES patients (id),
    status TEXT NOT NULL,
    -- Bumped by every change; every write transaction starts by bumping it, which takes the
    -- row lock on PostgreSQL and the write lock on SQLite, so steps on one case serialise.
    version BIGINT NOT NULL,
    indication TEXT NOT NULL,
    indication_lineages TEXT NOT NULL,
    indication_text TEXT,
    sampling TEXT NOT NULL,
    urgency TEXT NOT NULL,
    clinical_details TEXT,
    ordered_by BIGINT NOT NULL REFERENCES users (id),
    ordered_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX cases_patient ON cases (patient_id);
CREATE INDEX cases_status ON cases (status);

CREATE TABLE safety_checks (
    case_id BIGINT PRIMARY KEY REFERENCES cases (id),
    platelets BIGINT,
    inr_hundredths BIGINT,
    bloods_taken_at TEXT,
    sedation_planned BIGINT NOT NULL,
    escort_arranged BIGINT NOT NULL,
    immunocompromised BIGINT NOT NULL,
    recorded_by BIGINT NOT NULL REFERENCES users (id),
    recorded_at TEXT NOT NULL
);

CREATE TABLE medications (
    case_id BIGINT NOT NULL REFERENCES cases (id),
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    drug_class TEXT NOT NULL,
    dose TEXT NOT NULL,
    last_dose_at TEXT,
    PRIMARY KEY (case_id, position)
);

CREATE TABLE allergies (
    case_id BIGINT NOT NULL REFERENCES cases (id),
    position BIGINT NOT NULL,
    description TEXT NOT NULL,
    PRIMARY KEY (case_id, position)
);

CREATE TABLE procedures (
    case_id BIGINT PRIMARY KEY REFERENCES cases (id),
    operator TEXT NOT NULL,
    performed_at TEXT NOT NULL,
    site TEXT NOT NULL,
    side TEXT NOT NULL,
    position TEXT NOT NULL,
    local_anaesthetic TEXT NOT NULL,
    sedation TEXT NOT NULL,
    complications TEXT,
    recorded_by BIGINT NOT NULL REFERENCES users (id),
    recorded_at TEXT NOT NULL
);

CREATE TABLE specimens (
    id BIGINT PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    position BIGINT NOT NULL,
    tube TEXT NOT NULL,
    destination TEXT NOT NULL,
    status TEXT NOT NULL,
    received_by BIGINT REFERENCES users (id),
    received_at TEXT
);
CREATE INDEX specimens_case ON specimens (case_id);

CREATE TABLE differentials (
    case_id BIGINT PRIMARY KEY REFERENCES cases (id),
    recorded_by BIGINT NOT NULL REFERENCES users (id),
    recorded_at TEXT NOT NULL
);

CREATE TABLE differential_counts (
    case_id BIGINT NOT NULL REFERENCES cases (id),
    cell_class TEXT NOT NULL,
    cells BIGINT NOT NULL,
    PRIMARY KEY (case_id, cell_class)
);

CREATE TABLE report_drafts (
    case_id BIGINT PRIMARY KEY REFERENCES cases (id),
    adequacy TEXT,
    cellularity TEXT,
    morphology TEXT,
    interpretation TEXT,
    comment TEXT,
    -- Optimistic concurrency: a save names the revision it started from.
    revision BIGINT NOT NULL,
    updated_by BIGINT NOT NULL REFERENCES users (id),
    updated_at TEXT NOT NULL
);

-- Signed versions are only ever inserted. Each freezes the differential it reported
-- (as "class=count;..." codes) so later changes elsewhere cannot alter a signed report.
CREATE TABLE report_versions (
    case_id BIGINT NOT NULL REFERENCES cases (id),
    version BIGINT NOT NULL,
    adequacy TEXT NOT NULL,
    cellularity TEXT NOT NULL,
    morphology TEXT,
    interpretation TEXT NOT NULL,
    comment TEXT,
    differential TEXT NOT NULL,
    amendment_reason TEXT,
    signed_by BIGINT NOT NULL REFERENCES users (id),
    signed_at TEXT NOT NULL,
    PRIMARY KEY (case_id, version)
);

-- Append-only: no code path updates or deletes a row. Each row's hash covers its content and
-- the previous row's hash, so an edit, deletion or reordering breaks the chain.
CREATE TABLE audit_log (
    id BIGINT PRIMARY KEY,
    at TEXT NOT NULL,
    actor_id BIGINT,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id BIGINT NOT NULL,
    before_json TEXT,
    after_json TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_entity ON audit_log (entity, entity_id);
