// How a running job is told to stop early (cancellation, shutdown), and why.
import Foundation

/// Why a run must stop early.
public enum JobStopReason: Sendable, Equatable {
    /// A user cancelled the job: stop, no need to checkpoint.
    case cancellationRequested
    /// The service is shutting down: finish the step, checkpoint, stop; the job resumes on the next start.
    case shutdown
}

/// Thrown by `JobReporter.checkForStop()`; runners rethrow it after any clean-up.
public struct JobStopped: Error, Equatable, CustomStringConvertible {
    public var reason: JobStopReason

    public init(reason: JobStopReason) {
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .cancellationRequested: return "The job was cancelled."
        case .shutdown: return "The service is shutting down; the job resumes from its checkpoint on the next start."
        }
    }
}
