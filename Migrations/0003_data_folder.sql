-- 0003_data_folder: the identity of the data folder this database belongs to (one row), matched at start-up
-- against the folder's own `data-folder-id` file, so that an emptied, replaced or foreign database is refused
-- instead of silently orphaning the datasets and models on disk.
-- Append-only history: never edit this file once shipped; add 0004_... instead.

CREATE TABLE data_folder (
    id          TEXT PRIMARY KEY NOT NULL,
    created_at  TEXT NOT NULL
);
