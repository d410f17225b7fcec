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
