// What a caller asks for when it submits a job, before the store gives it an id.
import Foundation
import NeuralNetwork

/// A new job as submitted: its specification and, optionally, the caller's idempotency key.
public struct JobSubmission: Sendable {
    /// The job's specification as JSON text; the runner decodes it.
    public var specJSON: String
    public var baseModelID: String?
    public var datasetID: String?
    /// The `Idempotency-Key` header: a retry with the same key and request returns the first job.
    public var idempotencyKey: String?
    /// A hash of the request body, so that one key reused for a different request is refused.
    public var requestHash: String?

    public init(specJSON: String, baseModelID: String? = nil, datasetID: String? = nil,
                idempotencyKey: String? = nil, requestHash: String? = nil) {
        self.specJSON = specJSON
        self.baseModelID = baseModelID
        self.datasetID = datasetID
        self.idempotencyKey = idempotencyKey
        self.requestHash = requestHash ?? SHA256.hexDigest(of: Array(specJSON.utf8))
    }
}

/// Where a running job is: the worker writes one of these after every step.
public struct JobProgress: Equatable, Sendable {
    public var epoch: Int
    public var totalEpochs: Int
    public var step: Int
    public var totalSteps: Int

    public init(epoch: Int, totalEpochs: Int, step: Int, totalSteps: Int) {
        self.epoch = epoch
        self.totalEpochs = totalEpochs
        self.step = step
        self.totalSteps = totalSteps
    }

    /// Steps done over steps planned, in 0...1.
    public var fractionDone: Double {
        totalSteps > 0 ? min(1, max(0, Double(step) / Double(totalSteps))) : 0
    }
}

/// One named value the runner reports at a step or at the end of an epoch.
public struct MetricValue: Equatable, Sendable {
    public var scope: JobMetricRecord.Scope
    public var epoch: Int
    public var step: Int
    public var name: String
    public var value: Double

    public init(scope: JobMetricRecord.Scope, epoch: Int, step: Int, name: String, value: Double) {
        self.scope = scope
        self.epoch = epoch
        self.step = step
        self.name = name
        self.value = value
    }
}

/// What recovery did with one job a dead worker left behind.
public struct RecoveredJob: Equatable, Sendable {
    public var jobID: String
    /// `queued` (will resume from its checkpoint), `failed` (too many attempts) or `cancelled`.
    public var newStatus: JobStatus
    public var reason: String
}
