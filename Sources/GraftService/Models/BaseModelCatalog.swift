// Registers the base models shipped under `Models/` (one folder each: model.json + weights.safetensors).
import Foundation
import NeuralNetwork

/// Scans `Models/` at start-up and records each base model in the store, with its labels, provenance and
/// the SHA-256 of its weights, so `GET /models` and `POST /jobs` can name them.
///
/// The manifest is read loosely here (labels, provenance, metrics); the engine's strict reader validates the
/// whole graph when a model is loaded for training or prediction.
public struct BaseModelCatalog {
    public static let manifestName = "model.json"
    public static let weightsName = "weights.safetensors"

    /// A folder that was not registered, and why.
    public struct Skipped: Equatable, Sendable {
        public var folder: String
        public var reason: String
    }

    /// What one synchronisation did.
    public struct Report: Equatable, Sendable {
        /// Ids registered or refreshed (the folder names), sorted.
        public var registered: [String] = []
        public var skipped: [Skipped] = []
        /// Base models in the database whose folder is gone.
        public var missing: [String] = []
    }

    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    /// Registers every `Models/<id>/` that has a readable manifest and weights file.
    public func synchronize(into store: Store) throws -> Report {
        var report = Report()
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in names.sorted() where !name.hasPrefix(".") {
            let folder = directory.appendingPathComponent(name, isDirectory: true)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory),
                  isDirectory.boolValue else { continue }
            do {
                try store.upsertBaseModel(try record(id: name, folder: folder))
                report.registered.append(name)
            } catch let error as ServiceError {
                report.skipped.append(Skipped(folder: folder.path, reason: error.message))
            }
        }
        let registered = Set(report.registered)
        report.missing = try store.listModels()
            .filter { $0.kind == .base && !registered.contains($0.id)
                && !FileManager.default.fileExists(atPath: $0.path + "/" + Self.manifestName) }
            .map(\.id).sorted()
        return report
    }

    /// The row for the model in `folder`; throws `ServiceError.invalid` naming the file when it is unusable.
    func record(id: String, folder: URL) throws -> ModelRecord {
        let manifestURL = folder.appendingPathComponent(Self.manifestName)
        let weightsURL = folder.appendingPathComponent(Self.weightsName)
        guard let data = FileManager.default.contents(atPath: manifestURL.path) else {
            throw ServiceError.invalid(field: nil, message: "\(manifestURL.path) is missing; a model folder needs "
                + "\(Self.manifestName) and \(Self.weightsName).")
        }
        guard let manifest = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ServiceError.invalid(field: nil, message: "\(manifestURL.path) is not a JSON object.")
        }
        let provenance = manifest["provenance"] as? [String: Any] ?? [:]
        // Base models whose weights come from a registry name the script that fetches them.
        let setUp = (provenance["set_up_by"] as? String).map { "run \($0)" } ?? "add the weights"
        guard FileManager.default.fileExists(atPath: weightsURL.path) else {
            throw ServiceError.invalid(field: nil, message: "\(weightsURL.path) is missing; \(setUp) or remove the folder.")
        }
        var labels = manifest["labels"] as? [String] ?? []
        if let file = manifest["labels_file"] as? String {
            do {
                labels = try ModelManifest.readLabels(contentsOf: folder.appendingPathComponent(file))
            } catch let error as ModelError {
                throw ServiceError.invalid(field: "labels_file", message: "\(error.message)")
            }
        }
        guard !labels.isEmpty else {
            throw ServiceError.invalid(field: "labels", message:
                "\(manifestURL.path) has no \"labels\" array of class names (nor a \"labels_file\").")
        }
        let weightsHash: String
        do {
            weightsHash = try SHA256.hexDigest(ofFileAt: weightsURL)
        } catch {
            throw ServiceError.invalid(field: nil, message: "Cannot read \(weightsURL.path): \(error).")
        }
        return ModelRecord(id: id, name: (manifest["name"] as? String) ?? id, kind: .base, path: folder.path,
                           weightsHash: weightsHash, labelsJSON: try Self.json(labels),
                           provenanceJSON: try Self.json(provenance),
                           metricsJSON: try Self.json(manifest["metrics"] as? [String: Any] ?? [:]))
    }

    static func json(_ value: Any) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]), as: UTF8.self)
    }
}
