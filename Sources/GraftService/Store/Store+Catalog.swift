// Datasets and models in SQL: register, read, list, and delete when no active job needs them.
import Foundation
import GRDB

extension Store {
    // MARK: - Datasets

    /// Registers a validated dataset.
    public func insertDataset(_ dataset: DatasetRecord) throws {
        try write { db in
            try db.execute(sql: """
                INSERT INTO datasets (id, name, source, path, content_hash, class_count, image_count, labels_json,
                                      report_json, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [dataset.id, dataset.name, dataset.source.rawValue, dataset.path, dataset.contentHash,
                                 dataset.classCount, dataset.imageCount, dataset.labelsJSON, dataset.reportJSON,
                                 Timestamp.string(from: dataset.createdAt)])
        }
    }

    /// The dataset with `id`; throws `.notFound` when there is none.
    public func dataset(id: String) throws -> DatasetRecord {
        try read { db in
            guard let dataset = try DatasetRecord.fetchOne(db, sql: "SELECT * FROM datasets WHERE id = ?",
                                                           arguments: [id]) else {
                throw ServiceError.notFound(kind: "dataset", id: id)
            }
            return dataset
        }
    }

    /// Every dataset, newest first.
    public func listDatasets() throws -> [DatasetRecord] {
        try read { db in
            try DatasetRecord.fetchAll(db, sql: "SELECT * FROM datasets ORDER BY created_at DESC, rowid DESC")
        }
    }

    /// Deletes the dataset's row and returns it (the caller removes its files).
    ///
    /// - Throws: `.conflict("dataset_in_use")` while a queued or running job uses it.
    @discardableResult
    public func deleteDataset(id: String) throws -> DatasetRecord {
        try write { db in
            guard let dataset = try DatasetRecord.fetchOne(db, sql: "SELECT * FROM datasets WHERE id = ?",
                                                           arguments: [id]) else {
                throw ServiceError.notFound(kind: "dataset", id: id)
            }
            if let jobID = try activeJob(db, column: "dataset_id", id: id) {
                throw ServiceError.conflict(code: "dataset_in_use", message:
                    "Dataset \(id) is used by job \(jobID), which has not finished; cancel it or wait, then delete.")
            }
            try db.execute(sql: "DELETE FROM datasets WHERE id = ?", arguments: [id])
            return dataset
        }
    }

    // MARK: - Models

    /// Registers a model.
    public func insertModel(_ model: ModelRecord) throws {
        try write { db in try insertModel(db, model) }
    }

    /// Registers a base model found under `Models/`, or updates the row when its files changed.
    public func upsertBaseModel(_ model: ModelRecord) throws {
        precondition(model.kind == .base, "only base models are synchronised from Models/")
        try write { db in
            try db.execute(sql: """
                INSERT INTO models (id, name, kind, path, weights_hash, labels_json, provenance_json, metrics_json,
                                    parent_model_id, created_at)
                VALUES (?, ?, 'base', ?, ?, ?, ?, ?, NULL, ?)
                ON CONFLICT (id) DO UPDATE SET name = excluded.name, path = excluded.path,
                    weights_hash = excluded.weights_hash, labels_json = excluded.labels_json,
                    provenance_json = excluded.provenance_json, metrics_json = excluded.metrics_json
                WHERE models.kind = 'base'
                """, arguments: [model.id, model.name, model.path, model.weightsHash, model.labelsJSON,
                                 model.provenanceJSON, model.metricsJSON, Timestamp.string(from: model.createdAt)])
        }
    }

    /// The model with `id`; throws `.notFound` when there is none.
    public func model(id: String) throws -> ModelRecord {
        try read { db in
            guard let model = try ModelRecord.fetchOne(db, sql: "SELECT * FROM models WHERE id = ?",
                                                       arguments: [id]) else {
                throw ServiceError.notFound(kind: "model", id: id)
            }
            return model
        }
    }

    /// Every model, base models first, then newest first.
    public func listModels() throws -> [ModelRecord] {
        try read { db in
            try ModelRecord.fetchAll(db, sql: """
                SELECT * FROM models ORDER BY kind = 'fine_tuned', created_at DESC, id DESC
                """)
        }
    }

    /// Deletes a model's row and returns it (the caller removes its folder): any fine-tuned model, and the base
    /// models whose folder lies inside `deletableBases` (those a user imported; the ones shipped under Models/
    /// come back at every start-up, so deleting them would only pretend).
    ///
    /// - Throws: `.conflict("model_is_base")` for a shipped base model, `.conflict("model_in_use")` while an
    ///   unfinished job starts from it.
    @discardableResult
    public func deleteModel(id: String, deletableBases: URL) throws -> ModelRecord {
        try write { db in
            guard let model = try ModelRecord.fetchOne(db, sql: "SELECT * FROM models WHERE id = ?",
                                                       arguments: [id]) else {
                throw ServiceError.notFound(kind: "model", id: id)
            }
            let root = deletableBases.standardizedFileURL.path
            guard model.kind == .fineTuned || URL(fileURLWithPath: model.path).standardizedFileURL.path.hasPrefix(root + "/") else {
                throw ServiceError.conflict(code: "model_is_base", message:
                    "Model \(id) is a base model shipped under Models/; only fine-tuned and imported models can be deleted.")
            }
            if let jobID = try activeJob(db, column: "base_model_id", id: id) {
                throw ServiceError.conflict(code: "model_in_use", message:
                    "Model \(id) is the base of job \(jobID), which has not finished; cancel it or wait, then delete.")
            }
            try db.execute(sql: "DELETE FROM models WHERE id = ?", arguments: [id])
            return model
        }
    }

    // MARK: - Helpers

    func insertModel(_ db: Database, _ model: ModelRecord) throws {
        try db.execute(sql: """
            INSERT INTO models (id, name, kind, path, weights_hash, labels_json, provenance_json, metrics_json,
                                parent_model_id, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [model.id, model.name, model.kind.rawValue, model.path, model.weightsHash,
                             model.labelsJSON, model.provenanceJSON, model.metricsJSON, model.parentModelID,
                             Timestamp.string(from: model.createdAt)])
    }

    /// The id of an unfinished job whose `column` is `id`, if any.
    private func activeJob(_ db: Database, column: String, id: String) throws -> String? {
        try String.fetchOne(db, sql: """
            SELECT id FROM jobs WHERE \(column) = ? AND status IN ('queued', 'running', 'cancelling') LIMIT 1
            """, arguments: [id])
    }
}
