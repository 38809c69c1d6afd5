-- Post-procedure check-in: a patient's link (only its hash stored), the answers, and the alerts
-- "call now" answers raise for the care team.
INSERT INTO id_counters (name, value) VALUES ('checkins', 0), ('alerts', 0);

CREATE TABLE checkin_links (
    token_hash TEXT PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    created_by BIGINT NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX checkin_links_case ON checkin_links (case_id);

CREATE TABLE checkins (
    id BIGINT PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    submitted_at TEXT NOT NULL,
    answers TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reasons TEXT NOT NULL
);
CREATE INDEX checkins_case ON checkins (case_id);

CREATE TABLE alerts (
    id BIGINT PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    checkin_id BIGINT NOT NULL REFERENCES checkins (id),
    created_at TEXT NOT NULL,
    summary TEXT NOT NULL,
    acknowledged_by BIGINT REFERENCES users (id),
    acknowledged_at TEXT
);
CREATE INDEX alerts_open ON alerts (acknowledged_at);
