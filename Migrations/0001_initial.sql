-- 0001_initial: datasets, models, jobs, job metrics and job events.
-- Append-only history: never edit this file once shipped; add 0002_... instead.
-- Timestamps are ISO-8601 UTC text ("2026-11-23T20:30:00.123Z"); ids are opaque text.

CREATE TABLE datasets (
    id              TEXT PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    source          TEXT NOT NULL CHECK (source IN ('upload', 'folder')),
    path            TEXT NOT NULL,
    content_hash    TEXT,
    class_count     INTEGER NOT NULL DEFAULT 0 CHECK (class_count >= 0),
    image_count     INTEGER NOT NULL DEFAULT 0 CHECK (image_count >= 0),
    labels_json     TEXT NOT NULL DEFAULT '[]',
    report_json     TEXT NOT NULL DEFAULT '{}',
    created_at      TEXT NOT NULL
);

CREATE TABLE models (
    id              TEXT PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('base', 'fine_tuned')),
    path            TEXT NOT NULL,
    weights_hash    TEXT NOT NULL,
    labels_json     TEXT NOT NULL DEFAULT '[]',
    provenance_json TEXT NOT NULL DEFAULT '{}',
    metrics_json    TEXT NOT NULL DEFAULT '{}',
    parent_model_id TEXT REFERENCES models(id) ON DELETE SET NULL,
    created_at      TEXT NOT NULL
);

CREATE TABLE jobs (
    id                TEXT PRIMARY KEY NOT NULL,
    status            TEXT NOT NULL DEFAULT 'queued'
                      CHECK (status IN ('queued', 'running', 'cancelling', 'succeeded', 'failed', 'cancelled')),
    idempotency_key   TEXT UNIQUE,
    request_hash      TEXT,
    base_model_id     TEXT REFERENCES models(id) ON DELETE SET NULL,
    dataset_id        TEXT REFERENCES datasets(id) ON DELETE SET NULL,
    spec_json         TEXT NOT NULL,
    attempt           INTEGER NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    claimed_by        TEXT,
    heartbeat_at      TEXT,
    epoch             INTEGER NOT NULL DEFAULT 0 CHECK (epoch >= 0),
    total_epochs      INTEGER NOT NULL DEFAULT 0 CHECK (total_epochs >= 0),
    step              INTEGER NOT NULL DEFAULT 0 CHECK (step >= 0),
    total_steps       INTEGER NOT NULL DEFAULT 0 CHECK (total_steps >= 0),
    fraction_done     REAL NOT NULL DEFAULT 0 CHECK (fraction_done >= 0 AND fraction_done <= 1),
    error             TEXT,
    result_model_id   TEXT REFERENCES models(id) ON DELETE SET NULL,
    created_at        TEXT NOT NULL,
    started_at        TEXT,
    finished_at       TEXT,
    updated_at        TEXT NOT NULL,
    -- A job that is running or winding down is always owned by a worker.
    CHECK (status NOT IN ('running', 'cancelling') OR claimed_by IS NOT NULL),
    -- Finished jobs carry their finishing time.
    CHECK (status NOT IN ('succeeded', 'failed', 'cancelled') OR finished_at IS NOT NULL)
);
CREATE INDEX jobs_by_status_created ON jobs(status, created_at);  -- rowid breaks ties: submission order
CREATE INDEX jobs_by_created ON jobs(created_at);
CREATE INDEX jobs_by_dataset ON jobs(dataset_id);
CREATE INDEX jobs_by_base_model ON jobs(base_model_id);

CREATE TABLE job_metrics (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id      TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    scope       TEXT NOT NULL CHECK (scope IN ('step', 'epoch')),
    epoch       INTEGER NOT NULL CHECK (epoch >= 0),
    step        INTEGER NOT NULL CHECK (step >= 0),
    name        TEXT NOT NULL,
    value       REAL NOT NULL,
    recorded_at TEXT NOT NULL,
    -- A resumed job re-runs the steps after its last checkpoint: the newer value replaces the older.
    UNIQUE (job_id, scope, epoch, step, name)
);
CREATE INDEX job_metrics_by_job ON job_metrics(job_id, scope, step, epoch);

CREATE TABLE job_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id      TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    message     TEXT NOT NULL,
    data_json   TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL
);
CREATE INDEX job_events_by_job ON job_events(job_id, id);
