// One row of the `models` table: a base or fine-tuned model folder and where it came from.
import Foundation
import GRDB

/// A row of `models`.
public struct ModelRecord: Equatable, Sendable {
    /// Base models ship under `Models/`; fine-tuned models are made by jobs.
    public enum Kind: String, Sendable {
        case base
        case fineTuned = "fine_tuned"
    }

    public var id: String
    public var name: String
    public var kind: Kind
    /// The model folder (`model.json` + `weights.safetensors`).
    public var path: String
    /// SHA-256 of `weights.safetensors`.
    public var weightsHash: String
    /// The class labels as a JSON array.
    public var labelsJSON: String
    /// Where the model came from (base model, dataset, job, hyperparameters) as a JSON object.
    public var provenanceJSON: String
    /// Final metrics as a JSON object.
    public var metricsJSON: String
    public var parentModelID: String?
    public var createdAt: Date

    public init(id: String, name: String, kind: Kind, path: String, weightsHash: String, labelsJSON: String = "[]",
                provenanceJSON: String = "{}", metricsJSON: String = "{}", parentModelID: String? = nil,
                createdAt: Date = Date()) {
        self.id = id
        self.name = name
        self.kind = kind
        self.path = path
        self.weightsHash = weightsHash
        self.labelsJSON = labelsJSON
        self.provenanceJSON = provenanceJSON
        self.metricsJSON = metricsJSON
        self.parentModelID = parentModelID
        self.createdAt = createdAt
    }
}

extension ModelRecord: FetchableRecord {
    public init(row: Row) throws {
        let kindText: String = row["kind"]
        guard let kind = Kind(rawValue: kindText) else {
            throw ServiceError.storage(message: "Model row has unknown kind '\(kindText)'.")
        }
        self.init(id: row["id"], name: row["name"], kind: kind, path: row["path"], weightsHash: row["weights_hash"],
                  labelsJSON: row["labels_json"], provenanceJSON: row["provenance_json"],
                  metricsJSON: row["metrics_json"], parentModelID: row["parent_model_id"],
                  createdAt: try row.requiredTimestamp("created_at"))
    }
}
