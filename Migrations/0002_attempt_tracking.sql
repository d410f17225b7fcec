-- 0002_attempt_tracking: what start-up recovery needs to tell a killed process from a job that crashes its worker.
-- Append-only history: never edit this file once shipped; add 0003_... instead.
--
-- attempt_progressed     1 once the current attempt has reported a training step (0 again at every claim).
-- attempt_stop_requested 1 once the process holding the attempt was asked to shut down (SIGTERM): dying after
--                        that (a supervisor's SIGKILL) is not the job's fault.
-- unclean_ends           attempts that ended with their process dead or silent, the job not at fault or not yet.
-- last_unclean_epoch     the epoch the last of those died in.

ALTER TABLE jobs ADD COLUMN attempt_progressed INTEGER NOT NULL DEFAULT 0 CHECK (attempt_progressed IN (0, 1));
ALTER TABLE jobs ADD COLUMN attempt_stop_requested INTEGER NOT NULL DEFAULT 0
    CHECK (attempt_stop_requested IN (0, 1));
ALTER TABLE jobs ADD COLUMN unclean_ends INTEGER NOT NULL DEFAULT 0 CHECK (unclean_ends >= 0);
ALTER TABLE jobs ADD COLUMN last_unclean_epoch INTEGER;

-- Attempts under way when this runs were claimed by a binary that did not track progress: give them the benefit
-- of the doubt rather than quarantine them.
UPDATE jobs SET attempt_progressed = 1 WHERE status IN ('running', 'cancelling');
