// Importing a user's own base model over HTTP: an ONNX file (and its labels) becomes a registered base model under
// the data folder, written whole or not at all.
import Foundation
import NeuralNetwork

extension Service {
    /// Folder of base models imported through `POST /models` (Models/ holds the ones that ship).
    var importedModelsDirectory: URL { configuration.modelsDirectory.appendingPathComponent("imported", isDirectory: true) }

    /// Imports `data` as base model `id`: translated and checked in memory first, then written to a staging folder that
    /// is renamed into place and registered; a failure at any step leaves nothing behind.
    public func importONNXModel(data: Data, id: String, options: ONNXImport.Options) throws -> ModelRecord {
        try importONNXModel(.bytes(data), id: id, options: options)
    }

    /// Where an uploaded ONNX file is: in memory, or spooled to a file by the HTTP server (read in place, so a
    /// large model's bytes are never held in memory beside its converted weights).
    public enum ONNXUpload {
        case bytes(Data)
        case file(URL)
    }

    /// Imports `upload` as base model `id`, one import at a time (each holds a model's converted weights in
    /// memory; a second waits for the first).
    public func importONNXModel(_ upload: ONNXUpload, id: String, options: ONNXImport.Options) throws -> ModelRecord {
        modelImports.lock()
        defer { modelImports.unlock() }
        guard id.range(of: #"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"#, options: .regularExpression) != nil else {
            throw ServiceError.invalid(field: "name", message:
                "The model name must be 1–64 letters, digits, '-', '_' or '.', starting with a letter or digit (got '\(id)').")
        }
        if (try? store.model(id: id)) != nil {
            throw ServiceError.conflict(code: "model_exists", message:
                "A model named '\(id)' exists; choose another name or delete it first.")
        }
        let folder: ModelFolder
        do {
            switch upload {
            case .bytes(let data):
                (folder, _) = try ONNXImport.importModel(data: data, name: "\(id).onnx", options: options)
            case .file(let url):
                (folder, _) = try ONNXImport.importModel(uploadedFile: url, name: "\(id).onnx", options: options)
            }
        } catch let error as ONNXError {
            throw ServiceError.invalid(field: "model", message: error.description)
        }
        let root = importedModelsDirectory
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let staging = root.appendingPathComponent(".incoming-\(UUID().uuidString)", isDirectory: true)
        let destination = root.appendingPathComponent(id, isDirectory: true)
        defer { try? FileManager.default.removeItem(at: staging) }
        do {
            try folder.save(to: staging)
            try FileManager.default.moveItem(at: staging, to: destination)
        } catch {
            throw ServiceError.storage(message: "Could not write the imported model under \(root.path): \(error.localizedDescription)")
        }
        do {
            let record = try BaseModelCatalog(directory: root).record(id: id, folder: destination)
            try store.upsertBaseModel(record)
            return record
        } catch {
            try? FileManager.default.removeItem(at: destination)
            throw error
        }
    }
}
