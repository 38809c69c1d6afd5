-- The language of a patient's own pages and discharge sheet (a marrow-domain Language code).
-- Patients registered before this migration read English, as they always have.
ALTER TABLE patients ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
