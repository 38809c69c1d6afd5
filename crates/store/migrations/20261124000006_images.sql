-- Image-assisted counting (issue 7): images uploaded to a count, the cells found in them with
-- the model's proposal, and the technologist's decision. A confirmed cell becomes an ordinary
-- counter event of the same count, linked back to its cell.
INSERT INTO id_counters (name, value) VALUES ('count_images', 0), ('image_cells', 0);

CREATE TABLE count_images (
    id BIGINT PRIMARY KEY,
    count_id BIGINT NOT NULL REFERENCES counts (id),
    -- The name the browser gave the file, for the technologist's reference only.
    file_name TEXT NOT NULL,
    -- "field" (cells are found by the detector) or "cell" (the image is one centred cell).
    kind TEXT NOT NULL,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    -- The classifier's version and architecture, from its training record.
    model TEXT NOT NULL,
    uploaded_by BIGINT NOT NULL REFERENCES users (id),
    uploaded_at TEXT NOT NULL
);
CREATE INDEX count_images_count ON count_images (count_id);

CREATE TABLE image_cells (
    id BIGINT PRIMARY KEY,
    count_id BIGINT NOT NULL REFERENCES counts (id),
    image_id BIGINT NOT NULL REFERENCES count_images (id),
    -- The cell's box in the image, in pixels.
    x BIGINT NOT NULL,
    y BIGINT NOT NULL,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    -- The cell-centred crop the model saw, as base64 PNG (kept for the report and retraining).
    crop TEXT NOT NULL,
    -- The model's most probable class (its code, e.g. "BLA") and the whole proposal as JSON:
    -- {"top", "confidence", "probabilities", "class"} where "class" is the counter class
    -- proposed, or null when the cell needs a human.
    proposed_top TEXT NOT NULL,
    proposal TEXT NOT NULL,
    -- The technologist's latest decision: a counter class code, or "not-a-cell"; NULL until
    -- decided. A decided class is counted through the event named by decision_event.
    decision TEXT,
    decided_by BIGINT REFERENCES users (id),
    decided_at TEXT,
    decision_event TEXT
);
CREATE INDEX image_cells_count ON image_cells (count_id, id);
CREATE INDEX image_cells_decided ON image_cells (decision);

-- The cell image an event confirmed, when it came from the gallery rather than a key press.
ALTER TABLE count_events ADD COLUMN image_cell_id BIGINT REFERENCES image_cells (id);
