// One row of the `jobs` table.
import Foundation
import GRDB

/// A row of `jobs`, as stored. JSON bodies and the runner's view of a job are built from it elsewhere.
public struct JobRecord: Equatable, Sendable {
    public var id: String
    public var status: JobStatus
    public var idempotencyKey: String?
    public var requestHash: String?
    public var baseModelID: String?
    public var datasetID: String?
    /// The job's specification (base model, dataset, hyperparameters) as JSON text.
    public var specJSON: String
    /// How many times a worker has claimed this job (1 on the first run).
    public var attempt: Int
    /// The worker that owns the job while it is running or cancelling.
    public var claimedBy: String?
    public var heartbeatAt: Date?
    public var epoch: Int
    public var totalEpochs: Int
    public var step: Int
    public var totalSteps: Int
    public var fractionDone: Double
    public var error: String?
    public var resultModelID: String?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var updatedAt: Date
    /// Whether the current attempt has reported a training step (see `Store.recoverAbandonedJobs`).
    public var attemptProgressed: Bool
    /// Whether the process holding the current attempt was asked to shut down.
    public var attemptStopRequested: Bool
    /// Attempts that ended with their worker's process dead or silent, and the epoch the last one died in.
    public var uncleanEnds: Int
    public var lastUncleanEpoch: Int?
}

extension JobRecord: FetchableRecord {
    public init(row: Row) throws {
        let statusText: String = row["status"]
        guard let status = JobStatus(rawValue: statusText) else {
            throw ServiceError.storage(message: "Job \(row["id"] as String) has unknown status '\(statusText)'.")
        }
        id = row["id"]
        self.status = status
        idempotencyKey = row["idempotency_key"]
        requestHash = row["request_hash"]
        baseModelID = row["base_model_id"]
        datasetID = row["dataset_id"]
        specJSON = row["spec_json"]
        attempt = row["attempt"]
        claimedBy = row["claimed_by"]
        heartbeatAt = try row.timestamp("heartbeat_at")
        epoch = row["epoch"]
        totalEpochs = row["total_epochs"]
        step = row["step"]
        totalSteps = row["total_steps"]
        fractionDone = row["fraction_done"]
        error = row["error"]
        resultModelID = row["result_model_id"]
        createdAt = try row.requiredTimestamp("created_at")
        startedAt = try row.timestamp("started_at")
        finishedAt = try row.timestamp("finished_at")
        updatedAt = try row.requiredTimestamp("updated_at")
        attemptProgressed = row["attempt_progressed"]
        attemptStopRequested = row["attempt_stop_requested"]
        uncleanEnds = row["unclean_ends"]
        lastUncleanEpoch = row["last_unclean_epoch"]
    }
}

extension Row {
    /// A nullable ISO-8601 column as a `Date`.
    func timestamp(_ column: String) throws -> Date? {
        guard let text: String = self[column] else { return nil }
        guard let date = Timestamp.date(from: text) else {
            throw ServiceError.storage(message: "Column \(column) holds '\(text)', which is not an ISO-8601 timestamp.")
        }
        return date
    }

    /// A NOT NULL ISO-8601 column as a `Date`.
    func requiredTimestamp(_ column: String) throws -> Date {
        guard let date = try timestamp(column) else {
            throw ServiceError.storage(message: "Column \(column) is unexpectedly NULL.")
        }
        return date
    }
}
