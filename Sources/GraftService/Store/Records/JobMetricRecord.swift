// One row of the `job_metrics` table: a named value at a step or at the end of an epoch.
import Foundation
import GRDB

/// A row of `job_metrics`.
public struct JobMetricRecord: Equatable, Sendable {
    /// Whether the value belongs to one optimizer step or to a whole epoch.
    public enum Scope: String, Sendable {
        case step
        case epoch
    }

    public var id: Int64
    public var jobID: String
    public var scope: Scope
    public var epoch: Int
    public var step: Int
    /// The metric's name, such as `loss`, `accuracy`, `validation_loss`, `learning_rate`, `images_per_second`.
    public var name: String
    public var value: Double
    public var recordedAt: Date
}

extension JobMetricRecord: FetchableRecord {
    public init(row: Row) throws {
        let scopeText: String = row["scope"]
        guard let scope = Scope(rawValue: scopeText) else {
            throw ServiceError.storage(message: "Metric row has unknown scope '\(scopeText)'.")
        }
        id = row["id"]
        jobID = row["job_id"]
        self.scope = scope
        epoch = row["epoch"]
        step = row["step"]
        name = row["name"]
        value = row["value"]
        recordedAt = try row.requiredTimestamp("recorded_at")
    }
}
