// The job lifecycle in SQL: submit, claim, heartbeat, progress, cancellation, finishing and recovery.
import Foundation
import GRDB

extension Store {
    // MARK: - Submitting and reading

    /// Queues a new job, or returns the job an earlier submission with the same idempotency key created.
    ///
    /// - Returns: the job, and whether this call created it.
    /// - Throws: `.conflict("idempotency_key_reused")` when the key was used for a different request;
    ///   `.notFound` for an unknown base model or dataset.
    public func submitJob(_ submission: JobSubmission, now: Date = Date()) throws -> (job: JobRecord, created: Bool) {
        try write { db in
            if let key = submission.idempotencyKey {
                if let existing = try JobRecord.fetchOne(
                    db, sql: "SELECT * FROM jobs WHERE idempotency_key = ?", arguments: [key]) {
                    guard existing.requestHash == submission.requestHash else {
                        throw ServiceError.conflict(code: "idempotency_key_reused", message:
                            "The Idempotency-Key '\(key)' was already used for a different request (job "
                            + "\(existing.id)); use a new key for a new job.")
                    }
                    return (existing, false)
                }
            }
            if let model = submission.baseModelID,
               try Bool.fetchOne(db, sql: "SELECT 1 FROM models WHERE id = ?", arguments: [model]) == nil {
                throw ServiceError.notFound(kind: "model", id: model)
            }
            if let dataset = submission.datasetID,
               try Bool.fetchOne(db, sql: "SELECT 1 FROM datasets WHERE id = ?", arguments: [dataset]) == nil {
                throw ServiceError.notFound(kind: "dataset", id: dataset)
            }
            let id = makeIdentifier(prefix: "job")
            let stamp = Timestamp.string(from: now)
            try db.execute(sql: """
                INSERT INTO jobs (id, status, idempotency_key, request_hash, base_model_id, dataset_id, spec_json,
                                  created_at, updated_at)
                VALUES (?, 'queued', ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [id, submission.idempotencyKey, submission.requestHash, submission.baseModelID,
                                 submission.datasetID, submission.specJSON, stamp, stamp])
            try insertEvent(db, jobID: id, kind: "queued", message: "Job queued.", now: now)
            return (try fetchJob(db, id: id), true)
        }
    }

    /// The job with `id`; throws `.notFound` when there is none.
    public func job(id: String) throws -> JobRecord {
        try read { db in try fetchJob(db, id: id) }
    }

    /// Jobs newest first, optionally only those in `status`; `offset` and `limit` page through them.
    public func listJobs(status: JobStatus? = nil, limit: Int = 50, offset: Int = 0) throws -> [JobRecord] {
        precondition(limit > 0 && offset >= 0, "page bounds must be positive")
        return try read { db in
            if let status {
                return try JobRecord.fetchAll(db, sql: """
                    SELECT * FROM jobs WHERE status = ? ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?
                    """, arguments: [status.rawValue, limit, offset])
            }
            return try JobRecord.fetchAll(db, sql: """
                SELECT * FROM jobs ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?
                """, arguments: [limit, offset])
        }
    }

    /// How many jobs are in each state (every state present, zero when none).
    public func jobCountsByStatus() throws -> [JobStatus: Int] {
        try read { db in
            var counts = Dictionary(uniqueKeysWithValues: JobStatus.allCases.map { ($0, 0) })
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM jobs GROUP BY status") {
                if let status = JobStatus(rawValue: row["status"]) { counts[status] = row["n"] }
            }
            return counts
        }
    }

    /// Training throughput now: the newest per-step `images_per_second` of each running job, summed (0 when idle).
    public func runningImagesPerSecond() throws -> Double {
        try read { db in
            try Double.fetchOne(db, sql: """
                SELECT COALESCE(SUM(latest), 0) FROM (
                    SELECT (SELECT value FROM job_metrics
                            WHERE job_id = jobs.id AND scope = 'step' AND name = 'images_per_second'
                            ORDER BY step DESC, id DESC LIMIT 1) AS latest
                    FROM jobs WHERE status = 'running')
                """) ?? 0
        }
    }

    // MARK: - Claiming and running

    /// Atomically moves the oldest queued job to `running`, owned by `workerID`, and returns it.
    ///
    /// One UPDATE … WHERE id = (SELECT …) RETURNING statement inside an IMMEDIATE transaction: two claimers,
    /// in this process or another, never get the same job.
    public func claimNextQueuedJob(workerID: String, now: Date = Date()) throws -> JobRecord? {
        try write { db in
            let stamp = Timestamp.string(from: now)
            guard let job = try JobRecord.fetchOne(db, sql: """
                UPDATE jobs
                SET status = 'running', attempt = attempt + 1, claimed_by = ?, heartbeat_at = ?,
                    started_at = COALESCE(started_at, ?), updated_at = ?,
                    attempt_progressed = 0, attempt_stop_requested = 0
                WHERE id = (SELECT id FROM jobs WHERE status = 'queued' ORDER BY created_at, rowid LIMIT 1)
                  AND status = 'queued'
                RETURNING *
                """, arguments: [workerID, stamp, stamp, stamp]) else { return nil }
            try insertEvent(db, jobID: job.id, kind: "started",
                            message: "Attempt \(job.attempt) started.", data: ["attempt": job.attempt], now: now)
            return job
        }
    }

    /// Records that `workerID` is still working on the job; returns the job's status (`cancelling` tells the
    /// worker to stop). Throws `.conflict("lease_lost")` when the worker no longer owns the job.
    @discardableResult
    public func heartbeat(jobID: String, workerID: String, now: Date = Date()) throws -> JobStatus {
        try write { db in
            let stamp = Timestamp.string(from: now)
            try db.execute(sql: """
                UPDATE jobs SET heartbeat_at = ? WHERE id = ? AND claimed_by = ? AND status IN ('running', 'cancelling')
                """, arguments: [stamp, jobID, workerID])
            return try ownedStatus(db, jobID: jobID, workerID: workerID)
        }
    }

    /// Notes that the process behind `workerIDs` was asked to shut down, on the jobs they hold: if it dies before
    /// handing them back (a supervisor's SIGKILL after its grace period), recovery does not blame the jobs.
    public func markStopRequested(workerIDs: [String], now: Date = Date()) throws {
        guard !workerIDs.isEmpty else { return }
        try write { db in
            let placeholders = Array(repeating: "?", count: workerIDs.count).joined(separator: ", ")
            try db.execute(sql: """
                UPDATE jobs SET attempt_stop_requested = 1
                WHERE claimed_by IN (\(placeholders)) AND status IN ('running', 'cancelling')
                """, arguments: StatementArguments(workerIDs))
        }
    }

    /// The job's status as seen by its owner, read without writing; throws `.conflict("lease_lost")` when
    /// `workerID` no longer owns the job. Cheap enough to call before every step.
    public func statusForOwner(jobID: String, workerID: String) throws -> JobStatus {
        try read { db in try ownedStatus(db, jobID: jobID, workerID: workerID) }
    }

    /// Stores where the job is (and heartbeats); returns the job's status as `heartbeat` does.
    @discardableResult
    public func recordProgress(jobID: String, workerID: String, progress: JobProgress,
                               now: Date = Date()) throws -> JobStatus {
        try write { db in
            let stamp = Timestamp.string(from: now)
            try db.execute(sql: """
                UPDATE jobs SET epoch = ?, total_epochs = ?, step = ?, total_steps = ?, fraction_done = ?,
                                heartbeat_at = ?, updated_at = ?, attempt_progressed = 1
                WHERE id = ? AND claimed_by = ? AND status IN ('running', 'cancelling')
                """, arguments: [progress.epoch, progress.totalEpochs, progress.step, progress.totalSteps,
                                 progress.fractionDone, stamp, stamp, jobID, workerID])
            return try ownedStatus(db, jobID: jobID, workerID: workerID)
        }
    }

    /// Appends metric values; a value for the same job, scope, epoch, step and name replaces the older one.
    /// With `workerID`, writes only while that worker owns the job (else `.conflict("lease_lost")`).
    public func recordMetrics(jobID: String, workerID: String? = nil, _ values: [MetricValue],
                              now: Date = Date()) throws {
        guard !values.isEmpty else { return }
        try write { db in
            if let workerID { _ = try ownedStatus(db, jobID: jobID, workerID: workerID) }
            let stamp = Timestamp.string(from: now)
            let statement = try db.cachedStatement(sql: """
                INSERT INTO job_metrics (job_id, scope, epoch, step, name, value, recorded_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (job_id, scope, epoch, step, name)
                DO UPDATE SET value = excluded.value, recorded_at = excluded.recorded_at
                """)
            for value in values {
                guard value.value.isFinite else {
                    throw ServiceError.invalid(field: value.name, message:
                        "Metric \(value.name) at step \(value.step) is \(value.value); only finite values are stored.")
                }
                try statement.execute(arguments: [jobID, value.scope.rawValue, value.epoch, value.step, value.name,
                                                  value.value, stamp])
            }
        }
    }

    /// The job's metric series ordered by scope, step, epoch and name.
    public func metrics(jobID: String) throws -> [JobMetricRecord] {
        try read { db in
            _ = try fetchJob(db, id: jobID)
            return try JobMetricRecord.fetchAll(db, sql: """
                SELECT * FROM job_metrics WHERE job_id = ? ORDER BY scope DESC, step, epoch, name
                """, arguments: [jobID])
        }
    }

    /// Appends an event to the job's history; with `workerID`, only while that worker owns the job.
    public func appendEvent(jobID: String, workerID: String? = nil, kind: String, message: String,
                            data: [String: Any] = [:], now: Date = Date()) throws {
        try write { db in
            _ = try fetchJob(db, id: jobID)
            if let workerID { _ = try ownedStatus(db, jobID: jobID, workerID: workerID) }
            try insertEvent(db, jobID: jobID, kind: kind, message: message, data: data, now: now)
        }
    }

    /// The job's events with an id greater than `afterID`, oldest first (for Server-Sent Events' resume).
    public func events(jobID: String, afterID: Int64 = 0, limit: Int = 1000) throws -> [JobEventRecord] {
        try read { db in
            _ = try fetchJob(db, id: jobID)
            return try JobEventRecord.fetchAll(db, sql: """
                SELECT * FROM job_events WHERE job_id = ? AND id > ? ORDER BY id LIMIT ?
                """, arguments: [jobID, afterID, limit])
        }
    }

    /// The job's newest event of one kind (the latest `freeze_search` report), nil when it has none.
    public func latestEvent(jobID: String, kind: String) throws -> JobEventRecord? {
        try read { db in
            _ = try fetchJob(db, id: jobID)
            return try JobEventRecord.fetchOne(db, sql: """
                SELECT * FROM job_events WHERE job_id = ? AND kind = ? ORDER BY id DESC LIMIT 1
                """, arguments: [jobID, kind])
        }
    }

    // MARK: - Helpers shared with Store+JobEnding

    func fetchJob(_ db: Database, id: String) throws -> JobRecord {
        guard let job = try JobRecord.fetchOne(db, sql: "SELECT * FROM jobs WHERE id = ?", arguments: [id]) else {
            throw ServiceError.notFound(kind: "job", id: id)
        }
        return job
    }

    /// The job's status, or `.conflict("lease_lost")` when `workerID` does not own it any more.
    func ownedStatus(_ db: Database, jobID: String, workerID: String) throws -> JobStatus {
        let job = try fetchJob(db, id: jobID)
        guard job.claimedBy == workerID, job.status == .running || job.status == .cancelling else {
            throw ServiceError.conflict(code: "lease_lost", message:
                "Worker \(workerID) no longer owns job \(jobID) (now \(job.status.rawValue), owner "
                + "\(job.claimedBy ?? "none")); it stops without writing further.")
        }
        return job.status
    }

    func insertEvent(_ db: Database, jobID: String, kind: String, message: String, data: [String: Any] = [:],
                     now: Date) throws {
        let json: String
        if data.isEmpty {
            json = "{}"
        } else {
            let bytes = try JSONSerialization.data(withJSONObject: data, options: [.sortedKeys])
            json = String(decoding: bytes, as: UTF8.self)
        }
        try db.execute(sql: """
            INSERT INTO job_events (job_id, kind, message, data_json, created_at) VALUES (?, ?, ?, ?, ?)
            """, arguments: [jobID, kind, message, json, Timestamp.string(from: now)])
    }
}
