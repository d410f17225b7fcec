// One row of the `job_events` table: something that happened to a job, in order.
import Foundation
import GRDB

/// A row of `job_events`. `id` increases with time and serves as the Server-Sent Events id.
public struct JobEventRecord: Equatable, Sendable {
    public var id: Int64
    public var jobID: String
    /// What happened: `queued`, `started`, `progress`, `epoch`, `checkpoint`, `cancelling`, `succeeded`, ...
    public var kind: String
    public var message: String
    /// Details as JSON text (an object).
    public var dataJSON: String
    public var createdAt: Date
}

extension JobEventRecord: FetchableRecord {
    public init(row: Row) throws {
        id = row["id"]
        jobID = row["job_id"]
        kind = row["kind"]
        message = row["message"]
        dataJSON = row["data_json"]
        createdAt = try row.requiredTimestamp("created_at")
    }
}
