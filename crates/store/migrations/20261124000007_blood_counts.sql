-- Blood counts and the patient timeline (issue 8): complete blood counts entered by hand,
-- imported as CSV or received as HL7 v2 ORU^R01; incoming messages refused for review; and
-- dated treatment milestones.
INSERT INTO id_counters (name, value) VALUES ('blood_counts', 0), ('held_messages', 0), ('milestones', 0);

CREATE TABLE blood_counts (
    id BIGINT PRIMARY KEY,
    patient_id BIGINT NOT NULL REFERENCES patients (id),
    -- When the blood was taken (not when the result arrived).
    taken_at TEXT NOT NULL,
    -- "manual", "csv" or "hl7".
    source TEXT NOT NULL,
    -- For HL7, "MSH-4|MSH-10" of the message: a message sent again is recognised, not stored
    -- twice. NULL for the other sources (unique indexes allow many NULLs on both databases).
    source_ref TEXT,
    -- Who entered or imported it; NULL for a message received over MLLP.
    entered_by BIGINT REFERENCES users (id),
    entered_at TEXT NOT NULL
);
CREATE INDEX blood_counts_patient ON blood_counts (patient_id, taken_at);
CREATE UNIQUE INDEX blood_counts_source_ref ON blood_counts (source_ref);

CREATE TABLE blood_count_values (
    count_id BIGINT NOT NULL REFERENCES blood_counts (id),
    -- An analyte code (marrow-domain blood_count::Analyte).
    analyte TEXT NOT NULL,
    -- Thousandths of the analyte's unit: g/L, 10^9/L or %.
    value BIGINT NOT NULL,
    -- The value and unit as they arrived, before conversion.
    original_value TEXT NOT NULL,
    original_unit TEXT NOT NULL,
    PRIMARY KEY (count_id, analyte)
);

-- Incoming results refused as a whole (an unknown unit or code, an unknown patient), kept with
-- the reason until someone has looked at them.
CREATE TABLE held_messages (
    id BIGINT PRIMARY KEY,
    -- "mllp", "hl7-file" or "csv".
    channel TEXT NOT NULL,
    received_at TEXT NOT NULL,
    error TEXT NOT NULL,
    content TEXT NOT NULL,
    reviewed_by BIGINT REFERENCES users (id),
    reviewed_at TEXT
);

CREATE TABLE milestones (
    id BIGINT PRIMARY KEY,
    patient_id BIGINT NOT NULL REFERENCES patients (id),
    on_date TEXT NOT NULL,
    -- A marrow-domain monitoring::MilestoneKind code.
    kind TEXT NOT NULL,
    description TEXT,
    entered_by BIGINT NOT NULL REFERENCES users (id),
    entered_at TEXT NOT NULL
);
CREATE INDEX milestones_patient ON milestones (patient_id, on_date);
