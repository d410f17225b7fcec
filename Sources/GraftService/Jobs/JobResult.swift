// What a runner hands back: the model it produced, described for the registry.
import Foundation

/// What a successful run produced.
public struct JobResult: Sendable {
    /// The model written to the ticket's `outputDirectory`, or nil for jobs that make none.
    public var model: ProducedModel?

    public init(model: ProducedModel?) {
        self.model = model
    }
}

/// A fine-tuned model a run wrote to disk, described for the registry.
public struct ProducedModel: Sendable {
    public var name: String
    /// SHA-256 of the weights file.
    public var weightsHash: String
    public var labels: [String]
    /// Provenance (base model, dataset, hyperparameters, seed) as a JSON object's text.
    public var provenanceJSON: String
    /// Final metrics as a JSON object's text.
    public var metricsJSON: String

    public init(name: String, weightsHash: String, labels: [String], provenanceJSON: String = "{}",
                metricsJSON: String = "{}") {
        self.name = name
        self.weightsHash = weightsHash
        self.labels = labels
        self.provenanceJSON = provenanceJSON
        self.metricsJSON = metricsJSON
    }
}
