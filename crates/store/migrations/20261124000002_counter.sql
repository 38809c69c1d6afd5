-- The keyboard differential counter: a count is one observer's count of one case's slides;
-- every keystroke (and every undo) is an event, stored before the server acknowledges it.

INSERT INTO id_counters (name, value) VALUES ('counts', 0), ('count_events', 0);

CREATE TABLE counts (
    id BIGINT PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    observer_id BIGINT NOT NULL REFERENCES users (id),
    target BIGINT NOT NULL,
    started_at TEXT NOT NULL,
    -- Set when the observer finishes; a finished count takes no more events.
    finished_at TEXT,
    UNIQUE (case_id, observer_id)
);
CREATE INDEX counts_case ON counts (case_id);

-- client_event_id makes a resend harmless: the same event sent twice is stored once.
CREATE TABLE count_events (
    id BIGINT PRIMARY KEY,
    count_id BIGINT NOT NULL REFERENCES counts (id),
    client_event_id TEXT NOT NULL,
    event TEXT NOT NULL,
    pressed_at TEXT,
    received_at TEXT NOT NULL,
    UNIQUE (count_id, client_event_id)
);
CREATE INDEX count_events_count ON count_events (count_id, id);

-- Named key maps per user: "key=class;key=class".
CREATE TABLE keymaps (
    user_id BIGINT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    bindings TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (user_id, name)
);

-- The aspirate quality fields recorded beside the count, as the codes marrow-domain parses.
CREATE TABLE aspirate_findings (
    case_id BIGINT PRIMARY KEY REFERENCES cases (id),
    particles TEXT NOT NULL,
    trail_cellularity TEXT NOT NULL,
    particle_cellularity TEXT NOT NULL,
    haemodilution TEXT NOT NULL,
    megakaryocytes TEXT NOT NULL,
    -- "not-performed" or the storage iron grade "0" to "6".
    iron_stain TEXT NOT NULL,
    ring_sideroblasts TEXT,
    particles_examined_for_iron BIGINT,
    comment TEXT,
    recorded_by BIGINT NOT NULL REFERENCES users (id),
    recorded_at TEXT NOT NULL
);

-- Site settings an administrator changes (e.g. classes the site leaves out of the differential's
-- denominator, beyond the ICSH exclusions).
CREATE TABLE site_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_by BIGINT REFERENCES users (id),
    updated_at TEXT NOT NULL
);

-- A signed report freezes the site's exclusions it was signed under, so changing the setting
-- later cannot change a signed report's percentages.
ALTER TABLE report_versions ADD COLUMN excluded_classes TEXT;
