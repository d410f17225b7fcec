// What start-up recovery did with a job a dead worker left behind.
import Foundation

/// What recovery did with one job a dead worker left behind.
public struct RecoveredJob: Equatable, Sendable {
    public var jobID: String
    /// `queued` (will resume from its checkpoint), `failed` (too many attempts) or `cancelled`.
    public var newStatus: JobStatus
    public var reason: String
}
