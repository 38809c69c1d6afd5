-- The synoptic report (issue 6): each lineage's maturation and dysplasia, lymphoid cells, and
-- the findings that must be answered (granulomas, organisms, haemophagocytosis), in the draft
-- and in every signed version.
ALTER TABLE report_drafts ADD COLUMN erythropoiesis TEXT;
ALTER TABLE report_drafts ADD COLUMN granulopoiesis TEXT;
ALTER TABLE report_drafts ADD COLUMN megakaryopoiesis TEXT;
ALTER TABLE report_drafts ADD COLUMN lymphoid TEXT;
ALTER TABLE report_drafts ADD COLUMN granulomas TEXT;
ALTER TABLE report_drafts ADD COLUMN organisms TEXT;
ALTER TABLE report_drafts ADD COLUMN haemophagocytosis TEXT;

ALTER TABLE report_versions ADD COLUMN erythropoiesis TEXT;
ALTER TABLE report_versions ADD COLUMN granulopoiesis TEXT;
ALTER TABLE report_versions ADD COLUMN megakaryopoiesis TEXT;
ALTER TABLE report_versions ADD COLUMN lymphoid TEXT;
ALTER TABLE report_versions ADD COLUMN granulomas TEXT;
ALTER TABLE report_versions ADD COLUMN organisms TEXT;
ALTER TABLE report_versions ADD COLUMN haemophagocytosis TEXT;
-- A signed version freezes the aspirate findings it reported (the codes marrow-domain parses,
-- as JSON) and the interpretive flags shown to the pathologist when signing (JSON list of
-- {kind, text, source}). NULL only for versions signed before this migration.
ALTER TABLE report_versions ADD COLUMN aspirate TEXT;
ALTER TABLE report_versions ADD COLUMN flags TEXT;

-- HL7 v2 messages waiting for, or delivered to, a destination. A message is inserted in the
-- same transaction as the signature it reports, so a crash cannot sign without queueing; it
-- stays until the destination acknowledges it (AA/CA), however many attempts that takes.
INSERT INTO id_counters (name, value) VALUES ('hl7_outbox', 0);
CREATE TABLE hl7_outbox (
    id BIGINT PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    version BIGINT NOT NULL,
    destination TEXT NOT NULL,
    control_id TEXT NOT NULL,
    message TEXT NOT NULL,
    -- queued | sent
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    last_error TEXT,
    next_attempt_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    UNIQUE (case_id, version, destination)
);
CREATE INDEX hl7_outbox_due ON hl7_outbox (status, next_attempt_at);
