// Recording how a job's run ended, retried by a recovery loop when the store refuses (disk full, database busy),
// so that no job stays "running" without a live heartbeat and every cancellation ends.
import Foundation
import Logging
import Metrics

/// How a run ended, as the store must record it.
enum JobEnding {
    case succeeded(model: ModelRecord?, outputDirectory: URL)
    /// Recorded as cancelled instead when the job is being cancelled.
    case failed(message: String)
    case cancelled
    /// Back to the queue (shutdown); cancelled instead when the job is being cancelled.
    case released(reason: String)
}

/// An ending the store refused, waiting for the recovery loop.
struct PendingEnding {
    var job: JobRecord
    var workerID: String
    var ending: JobEnding
    var started: Date
    var tries: Int
    var metadata: Logger.Metadata
}

extension WorkerPool {
    /// Records `ending`; if the store refuses, keeps it for the recovery loop, which heartbeats the job and
    /// retries every `recoveryInterval` until it is recorded.
    func record(_ ending: JobEnding, job: JobRecord, workerID: String, started: Date, metadata: Logger.Metadata) {
        var pending = PendingEnding(job: job, workerID: workerID, ending: ending, started: started, tries: 0,
                                    metadata: metadata)
        if attempt(&pending) { return }
        lock.lock()
        pendingEndings.append(pending)
        lock.unlock()
    }

    /// Tries to record one ending; true when it is settled (recorded, or found already ended by someone else).
    private func attempt(_ pending: inout PendingEnding) -> Bool {
        pending.tries += 1
        do {
            let outcome = try apply(pending.ending, job: pending.job, workerID: pending.workerID)
            finish(outcome, started: pending.started, metadata: &pending.metadata)
            return true
        } catch let error as ServiceError where Self.isSettled(error) {
            // Recovery (or another process) ended or took the job meanwhile: nothing is left to record.
            logger.warning("A job's ending was already settled elsewhere",
                           metadata: pending.metadata.merging(["error": "\(error)"]) { $1 })
            return true
        } catch {
            if pending.tries == 1 || pending.tries % 12 == 0 {
                logger.error("Could not record a job's ending; retrying every \(configuration.recoveryInterval) s",
                             metadata: pending.metadata.merging(["error": "\(error)", "tries": "\(pending.tries)"]) { $1 })
            }
            if case .succeeded(_, let output) = pending.ending, pending.tries >= configuration.endingTriesBeforeFailing {
                // A success the store keeps refusing (a constraint, not a full disk) must not hold the job forever.
                try? FileManager.default.removeItem(at: output)
                pending.ending = .failed(message: "The job finished, but its model could not be registered after "
                    + "\(pending.tries) tries (\(error)); check the server log and the disk, then submit it again.")
            }
            return false
        }
    }

    /// Writes the ending; returns the outcome's name.
    private func apply(_ ending: JobEnding, job: JobRecord, workerID: String) throws -> String {
        switch ending {
        case .succeeded(let model, _):
            try store.markSucceeded(jobID: job.id, workerID: workerID, resultModel: model)
            removeCheckpoint(jobID: job.id)
            return "succeeded"
        case .failed(let message):
            if try store.job(id: job.id).status == .cancelling {
                try store.markCancelled(jobID: job.id, workerID: workerID)
                removeCheckpoint(jobID: job.id)
                return "cancelled"
            }
            try store.markFailed(jobID: job.id, workerID: workerID, error: message)
            removeCheckpoint(jobID: job.id)
            return "failed"
        case .cancelled:
            try store.markCancelled(jobID: job.id, workerID: workerID)
            removeCheckpoint(jobID: job.id)
            return "cancelled"
        case .released(let reason):
            let released = try store.releaseJob(jobID: job.id, workerID: workerID, reason: reason)
            if released.status == .cancelled { removeCheckpoint(jobID: job.id) }
            return released.status.rawValue
        }
    }

    /// A conflict that means the job is no longer this worker's to end.
    static func isSettled(_ error: ServiceError) -> Bool {
        if case .notFound = error { return true }
        return error.code == "lease_lost" || error.code == "invalid_job_transition"
    }

    func finish(_ outcome: String, started: Date, metadata: inout Logger.Metadata) {
        metadata["outcome"] = "\(outcome)"
        Counter(label: "graft_jobs_finished_total", dimensions: [("outcome", outcome)]).increment()
        Metrics.Timer(label: "graft_job_run_seconds").recordSeconds(Date().timeIntervalSince(started))
        logger.info("Job run ended", metadata: metadata)
    }

    /// Endings waiting to be recorded.
    var pendingEndingCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return pendingEndings.count
    }

    // MARK: - The recovery loop

    func startRecoveryLoop() {
        let timer = DispatchSource.makeTimerSource(queue: recoveryQueue)
        let interval = DispatchTimeInterval.milliseconds(max(1, Int(configuration.recoveryInterval * 1000)))
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler { [weak self] in self?.recoveryRound() }
        lock.lock()
        recoveryTimer = timer
        lock.unlock()
        timer.resume()
    }

    /// Stops the loop after a last round, so endings refused a moment ago get one more chance before exit.
    func stopRecoveryLoop() {
        lock.lock()
        let timer = recoveryTimer
        recoveryTimer = nil
        lock.unlock()
        timer?.cancel()
        recoveryQueue.sync { retryPendingEndings() }
    }

    /// One round: pending endings first (their jobs are this process's), then jobs of dead or silent workers.
    func recoveryRound() {
        retryPendingEndings()
        do {
            try recoverAbandonedJobs()
        } catch {
            logger.warning("Recovery of abandoned jobs failed; it runs again shortly", metadata: ["error": "\(error)"])
        }
    }

    func retryPendingEndings() {
        lock.lock()
        var round = pendingEndings
        pendingEndings = []
        lock.unlock()
        var kept: [PendingEnding] = []
        for index in round.indices {
            // The worker is still answering for the job: say so, so that nobody takes it for abandoned.
            do {
                try store.heartbeat(jobID: round[index].job.id, workerID: round[index].workerID)
            } catch let error as ServiceError where Self.isSettled(error) {
                continue
            } catch {
                // The ending is retried below anyway.
            }
            if !attempt(&round[index]) { kept.append(round[index]) }
        }
        lock.lock()
        pendingEndings = kept + pendingEndings
        lock.unlock()
    }
}
