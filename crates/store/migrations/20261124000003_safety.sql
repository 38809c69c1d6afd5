-- Clinician overrides of safety-check findings: recorded with a reason, never silent.
CREATE TABLE safety_overrides (
    case_id BIGINT NOT NULL REFERENCES cases (id),
    rule TEXT NOT NULL,
    reason TEXT NOT NULL,
    overridden_by BIGINT NOT NULL REFERENCES users (id),
    overridden_at TEXT NOT NULL,
    PRIMARY KEY (case_id, rule)
);

-- The renal function some drug hold times depend on (creatinine clearance, mL/min).
ALTER TABLE safety_checks ADD COLUMN creatinine_clearance BIGINT;

-- The steps of the procedure note beyond site and specimens.
ALTER TABLE procedures ADD COLUMN time_out_done BIGINT;
ALTER TABLE procedures ADD COLUMN needle TEXT;
ALTER TABLE procedures ADD COLUMN passes BIGINT;
ALTER TABLE procedures ADD COLUMN dry_tap BIGINT;
ALTER TABLE procedures ADD COLUMN trephine_length_mm BIGINT;
ALTER TABLE procedures ADD COLUMN haemostasis TEXT;
-- Aspirate volume per tube, in tenths of a mL.
ALTER TABLE specimens ADD COLUMN volume_tenths BIGINT;
