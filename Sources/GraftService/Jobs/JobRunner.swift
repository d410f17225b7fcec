// The interface between the worker pool and whatever does a job's work (fine-tuning, in the real service): the
// runner, and the reporter it tells its progress to.
import Foundation

/// Runs one job to completion, resuming from a checkpoint when one exists.
///
/// Contract: call `reporter.checkForStop()` before every step; when it throws `JobStopped(.shutdown)`, save a
/// checkpoint in `job.checkpointDirectory` and rethrow, so the next attempt resumes from it. Checkpoint at least
/// every epoch (creating the folder). Create and write the finished model's folder at `job.outputDirectory` and
/// describe it in the result (its weights' hash included): the pool neither makes nor reads that folder, and
/// removes it only when the job does not end in success.
/// Errors thrown (other than `JobStopped`) fail the job with their description as its message.
public protocol JobRunner: Sendable {
    func run(_ job: JobTicket, reporter: JobReporter) throws -> JobResult
}

/// How a runner tells the service where it is. Implemented by the worker pool over the store.
public protocol JobReporter: AnyObject {
    /// Stores the job's position (and heartbeats).
    func reportProgress(_ progress: JobProgress) throws
    /// Stores metric values for a step or an epoch.
    func recordMetrics(_ values: [MetricValue]) throws
    /// Appends an event (`epoch`, `checkpoint`, `resumed`, ...) to the job's history.
    func recordEvent(kind: String, message: String, data: [String: Any]) throws
    /// Throws `JobStopped` when the job was cancelled or the service is stopping. Call before every step.
    func checkForStop() throws
}
