// The job state machine: queued → running → succeeded | failed | cancelled, with cancelling in between.
import Foundation

/// A job's state. Transitions not listed in `allowedNext` are refused with a 409-style `ServiceError.conflict`.
public enum JobStatus: String, CaseIterable, Sendable {
    case queued
    case running
    /// Cancellation was requested while running; the worker is winding down.
    case cancelling
    case succeeded
    case failed
    case cancelled

    /// Whether the job has ended for good.
    public var isTerminal: Bool {
        switch self {
        case .succeeded, .failed, .cancelled: return true
        case .queued, .running, .cancelling: return false
        }
    }

    /// The states this one may move to.
    ///
    /// `running → queued` is a worker handing a job back (graceful stop, or recovery after a crash) so that it
    /// resumes from its checkpoint; `cancelling → succeeded` lets a job that finished its last step anyway keep
    /// its result.
    public var allowedNext: Set<JobStatus> {
        switch self {
        case .queued: return [.running, .cancelled]
        case .running: return [.succeeded, .failed, .cancelling, .queued]
        case .cancelling: return [.cancelled, .failed, .succeeded]
        case .succeeded, .failed, .cancelled: return []
        }
    }

    /// Whether moving from this state to `next` is allowed.
    public func canMove(to next: JobStatus) -> Bool {
        allowedNext.contains(next)
    }

    /// Every state that may move to `next`.
    static func predecessors(of next: JobStatus) -> [JobStatus] {
        allCases.filter { $0.canMove(to: next) }
    }
}
