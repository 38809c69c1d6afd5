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
