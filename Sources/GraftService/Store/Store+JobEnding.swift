// The job lifecycle's later half: cancellation, success, failure, handing a job back, and crash recovery.
import Foundation
import GRDB

extension Store {
    // MARK: - Cancellation

    /// Asks for a job to stop: a queued job is cancelled at once, a running one becomes `cancelling` and its
    /// worker stops at the next step. Asking again while cancelling changes nothing.
    ///
    /// - Throws: `.conflict("job_finished")` when the job has already ended.
    @discardableResult
    public func requestCancellation(jobID: String, now: Date = Date()) throws -> JobRecord {
        try write { db in
            let job = try fetchJob(db, id: jobID)
            switch job.status {
            case .queued:
                let stamp = Timestamp.string(from: now)
                let cancelled = try transition(db, job: job, to: .cancelled, workerID: nil,
                                               set: "finished_at = ?, claimed_by = NULL", [stamp], now: now)
                try insertEvent(db, jobID: jobID, kind: "cancelled", message: "Cancelled before it started.", now: now)
                return cancelled
            case .running:
                let cancelling = try transition(db, job: job, to: .cancelling, workerID: nil, set: nil, [], now: now)
                try insertEvent(db, jobID: jobID, kind: "cancelling",
                                message: "Cancellation requested; the job stops after its current step.", now: now)
                return cancelling
            case .cancelling:
                return job
            case .succeeded, .failed, .cancelled:
                throw ServiceError.conflict(code: "job_finished", message:
                    "Job \(jobID) already ended (\(job.status.rawValue)); there is nothing to cancel.")
            }
        }
    }

    // MARK: - Ending a run

    /// Marks the job succeeded, registering the model it produced (if any) in the same transaction.
    @discardableResult
    public func markSucceeded(jobID: String, workerID: String, resultModel: ModelRecord?,
                              now: Date = Date()) throws -> JobRecord {
        try write { db in
            let job = try fetchJob(db, id: jobID)
            // Check ownership before writing the model, so a worker that lost its job leaves no model row.
            if job.claimedBy != workerID, job.status == .running || job.status == .cancelling {
                _ = try ownedStatus(db, jobID: jobID, workerID: workerID)
            }
            if let resultModel {
                try insertModel(db, resultModel)
            }
            let stamp = Timestamp.string(from: now)
            let done = try transition(db, job: job, to: .succeeded, workerID: workerID,
                                      set: "finished_at = ?, fraction_done = 1, result_model_id = ?",
                                      [stamp, resultModel?.id], now: now)
            try insertEvent(db, jobID: jobID, kind: "succeeded", message: "Job succeeded.",
                            data: resultModel.map { ["model_id": $0.id] } ?? [:], now: now)
            return done
        }
    }

    /// Marks the job failed with a message that says what went wrong and what to do.
    @discardableResult
    public func markFailed(jobID: String, workerID: String, error message: String,
                           now: Date = Date()) throws -> JobRecord {
        try write { db in
            let job = try fetchJob(db, id: jobID)
            let stamp = Timestamp.string(from: now)
            let failed = try transition(db, job: job, to: .failed, workerID: workerID,
                                        set: "finished_at = ?, error = ?", [stamp, message], now: now)
            try insertEvent(db, jobID: jobID, kind: "failed", message: message, now: now)
            return failed
        }
    }

    /// Marks a job that was asked to stop as cancelled (its worker has wound down).
    @discardableResult
    public func markCancelled(jobID: String, workerID: String, now: Date = Date()) throws -> JobRecord {
        try write { db in
            let job = try fetchJob(db, id: jobID)
            let stamp = Timestamp.string(from: now)
            let cancelled = try transition(db, job: job, to: .cancelled, workerID: workerID,
                                           set: "finished_at = ?", [stamp], now: now)
            try insertEvent(db, jobID: jobID, kind: "cancelled", message: "Job cancelled.", now: now)
            return cancelled
        }
    }

    /// Hands a running job back to the queue (graceful shutdown): it resumes from its checkpoint on the next
    /// claim. A job that was being cancelled is cancelled instead.
    @discardableResult
    public func releaseJob(jobID: String, workerID: String, reason: String, now: Date = Date()) throws -> JobRecord {
        try write { db in
            let job = try fetchJob(db, id: jobID)
            if job.status == .cancelling, job.claimedBy == workerID {
                let stamp = Timestamp.string(from: now)
                let cancelled = try transition(db, job: job, to: .cancelled, workerID: workerID,
                                               set: "finished_at = ?", [stamp], now: now)
                try insertEvent(db, jobID: jobID, kind: "cancelled", message: "Job cancelled.", now: now)
                return cancelled
            }
            let released = try transition(db, job: job, to: .queued, workerID: workerID,
                                          set: "claimed_by = NULL, heartbeat_at = NULL", [], now: now)
            try insertEvent(db, jobID: jobID, kind: "requeued", message: reason, now: now)
            return released
        }
    }

    // MARK: - Recovery

    /// Finds jobs left `running` or `cancelling` by workers that died, and requeues them to resume from their
    /// last checkpoint — or fails them once they have been attempted `maxAttempts` times, or at once when the job
    /// itself most likely killed its process (below); a job that was being cancelled is cancelled.
    ///
    /// A job counts as abandoned when its heartbeat is older than `staleBefore`, or `isOwnerAlive` says its
    /// owner is gone (a worker of a process that is no longer running).
    ///
    /// Telling a crash the job causes from a process killed from outside (`kill -9`, a reboot, the OOM killer
    /// choosing another victim): a new process cannot see how the old one died, so the job's record carries the
    /// evidence. A crash that a job causes recurs where it happened, and it almost always happens before the first
    /// step (model, data, feature cache and plan are sized and allocated there) or at the same point again. So:
    /// - the attempt was asked to shut down first (`attempt_stop_requested`): a supervisor's SIGKILL after its
    ///   grace period, not the job's fault: requeued;
    /// - the attempt died before reporting any step (`attempt_progressed` = 0): quarantined (failed) after this
    ///   one crash. An outside kill in that window costs one resubmission; retrying a job that crashes there would
    ///   take the whole service down again, with every request in flight;
    /// - the attempt made progress but died in the same epoch as the previous unclean end: quarantined too;
    /// - otherwise (progress since the last crash, as after a `kill -9` mid-training): requeued, up to
    ///   `maxAttempts`.
    /// With several workers in one process, a crash ends all of their attempts; a job still preparing beside the
    /// culprit is then quarantined with it (one worker is the default).
    @discardableResult
    public func recoverAbandonedJobs(staleBefore: Date, maxAttempts: Int,
                                     isOwnerAlive: (String) -> Bool = { _ in true },
                                     now: Date = Date()) throws -> [RecoveredJob] {
        precondition(maxAttempts >= 1, "a job needs at least one attempt")
        return try write { db in
            let candidates = try JobRecord.fetchAll(db, sql: """
                SELECT * FROM jobs WHERE status IN ('running', 'cancelling') ORDER BY created_at, rowid
                """)
            let staleStamp = Timestamp.string(from: staleBefore)
            var recovered: [RecoveredJob] = []
            for job in candidates {
                let heartbeat = job.heartbeatAt.map { Timestamp.string(from: $0) } ?? ""
                let ownerGone = job.claimedBy.map { !isOwnerAlive($0) } ?? true
                guard ownerGone || heartbeat < staleStamp else { continue }
                let why = ownerGone
                    ? "its worker \(job.claimedBy ?? "?") is no longer running"
                    : "its worker \(job.claimedBy ?? "?") stopped sending heartbeats (last at \(heartbeat))"
                let stamp = Timestamp.string(from: now)
                let outcome: RecoveredJob
                let outsideKill = job.attemptStopRequested
                if job.status == .cancelling {
                    outcome = RecoveredJob(jobID: job.id, newStatus: .cancelled,
                                           reason: "Cancelled: \(why) while the job was being cancelled.")
                    _ = try transition(db, job: job, to: .cancelled, workerID: nil, set: "finished_at = ?",
                                       [stamp], now: now)
                } else if !outsideKill && !job.attemptProgressed {
                    outcome = RecoveredJob(jobID: job.id, newStatus: .failed, reason: """
                        Quarantined: \(why) while attempt \(job.attempt) was still preparing (loading the model and \
                        data, building the network), before its first training step. The job most likely crashed \
                        it (memory exhausted, a fault), so it is not retried: that would take the service down \
                        again. Check the server log, try a smaller batch_size, head or base model, and submit it again.
                        """)
                    _ = try transition(db, job: job, to: .failed, workerID: nil, set: "finished_at = ?, error = ?",
                                       [stamp, outcome.reason], now: now)
                } else if !outsideKill && job.lastUncleanEpoch == job.epoch {
                    outcome = RecoveredJob(jobID: job.id, newStatus: .failed, reason: """
                        Quarantined: \(why), the second time in epoch \(job.epoch) with no epoch finished in \
                        between. The job most likely crashes its worker there, so it is not retried again. Check the \
                        server log, try a smaller batch_size or another base model, and submit it again.
                        """)
                    _ = try transition(db, job: job, to: .failed, workerID: nil, set: "finished_at = ?, error = ?",
                                       [stamp, outcome.reason], now: now)
                } else if job.attempt >= maxAttempts {
                    outcome = RecoveredJob(jobID: job.id, newStatus: .failed, reason: """
                        Failed after \(job.attempt) attempts: \(why). A job that keeps killing its worker usually \
                        runs out of memory; try a smaller batch size or image size, check the server log, and \
                        submit it again.
                        """)
                    _ = try transition(db, job: job, to: .failed, workerID: nil, set: "finished_at = ?, error = ?",
                                       [stamp, outcome.reason], now: now)
                } else {
                    outcome = RecoveredJob(jobID: job.id, newStatus: .queued, reason:
                        "Requeued: \(why)\(outsideKill ? " after it was asked to shut down" : ""); attempt "
                        + "\(job.attempt + 1) resumes from the last checkpoint.")
                    // Only an end the job may have caused counts towards quarantine.
                    let counted = outsideKill ? "" : ", unclean_ends = unclean_ends + 1, last_unclean_epoch = epoch"
                    _ = try transition(db, job: job, to: .queued, workerID: nil,
                                       set: "claimed_by = NULL, heartbeat_at = NULL" + counted, [], now: now)
                }
                let kind = outcome.newStatus == .queued ? "requeued" : outcome.newStatus.rawValue
                try insertEvent(db, jobID: job.id, kind: kind,
                                message: outcome.reason, now: now)
                recovered.append(outcome)
            }
            return recovered
        }
    }

    // MARK: - The one place that changes a job's status

    /// Moves `job` to `next` if the state machine allows it and (when `workerID` is given) the worker owns it.
    ///
    /// The UPDATE repeats the checks in its WHERE clause, so a concurrent change makes it match nothing and
    /// fail with a conflict instead of overwriting.
    func transition(_ db: Database, job: JobRecord, to next: JobStatus, workerID: String?, set assignments: String?,
                    _ values: StatementArguments, now: Date) throws -> JobRecord {
        guard job.status.canMove(to: next) else {
            throw ServiceError.conflict(code: "invalid_job_transition", message:
                "Job \(job.id) is \(job.status.rawValue); it cannot become \(next.rawValue).")
        }
        if let workerID, job.status == .running || job.status == .cancelling, job.claimedBy != workerID {
            _ = try ownedStatus(db, jobID: job.id, workerID: workerID)
        }
        let extra = assignments.map { ", " + $0 } ?? ""
        var sql = """
            UPDATE jobs SET status = ?, updated_at = ?\(extra)
            WHERE id = ? AND status = ?
            """
        var arguments: StatementArguments = [next.rawValue, Timestamp.string(from: now)]
        arguments += values
        arguments += [job.id, job.status.rawValue]
        if let workerID, job.status == .running || job.status == .cancelling {
            sql += " AND claimed_by = ?"
            arguments += [workerID]
        }
        sql += " RETURNING *"
        guard let updated = try JobRecord.fetchOne(db, sql: sql, arguments: arguments) else {
            let current = try fetchJob(db, id: job.id)
            throw ServiceError.conflict(code: "invalid_job_transition", message:
                "Job \(job.id) changed to \(current.status.rawValue) meanwhile; it cannot become \(next.rawValue).")
        }
        return updated
    }
}
