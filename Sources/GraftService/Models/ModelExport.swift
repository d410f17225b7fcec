// Exports of registered models (GET /models/:id/export): an ONNX file made from the model folder on request, or
// the weights file as stored.
import Foundation
import NeuralNetwork
import Tensors

/// A model in a format other tools read, ready to be sent as a download.
public struct ModelExport: Sendable {
    /// The formats a model is exported in.
    public enum Format: String, CaseIterable, Sendable {
        /// ONNX opset 13 with BatchNorm folded and the input spec and labels in the metadata (`ONNXExport`).
        case onnx
        /// `weights.safetensors` as the model folder holds it.
        case safetensors

        /// The format named by a `format` query value; a 400 naming the valid ones otherwise.
        public init(query value: String?) throws {
            guard let format = Format(rawValue: (value ?? Format.onnx.rawValue).lowercased()) else {
                throw ServiceError.badRequest(code: "unknown_format", field: "format", message:
                    "Unknown export format '\(value ?? "")'; use one of: "
                        + Format.allCases.map(\.rawValue).joined(separator: ", ") + ".")
            }
            self = format
        }

        var fileExtension: String { rawValue }
    }

    public enum Content: Sendable {
        case bytes(Data)
        case file(URL)
    }

    public var filename: String
    public var content: Content
}

extension Service {
    /// The model `id` in `format`: 404 for an unknown id, 422 for a model that has no ONNX form (an op without a
    /// mapping), 500 when its files cannot be read.
    public func exportModel(id: String, format: ModelExport.Format) throws -> ModelExport {
        let record = try store.model(id: id)
        let folder = URL(fileURLWithPath: record.path)
        let filename = ModelExport.safeFilename(record.name, fallback: record.id) + "." + format.fileExtension
        switch format {
        case .safetensors:
            let weights = folder.appendingPathComponent(ModelFolder.weightsName)
            guard FileManager.default.isReadableFile(atPath: weights.path) else {
                throw ServiceError.storage(message: "Model '\(id)' has no readable weights file at \(weights.path).")
            }
            return ModelExport(filename: filename, content: .file(weights))
        case .onnx:
            let model: ModelFolder
            do {
                model = try ModelFolder.load(from: folder, context: ComputeContext(threads: 1))
            } catch {
                throw ServiceError.storage(message: "Model '\(id)' cannot be loaded from \(folder.path): \(error)")
            }
            do {
                return ModelExport(filename: filename, content: .bytes(try ONNXExport.export(model)))
            } catch let error as ModelError {
                throw ServiceError.invalid(field: "format", message: "Model '\(id)' cannot be exported as ONNX: \(error)")
            }
        }
    }
}

extension ModelExport {
    /// A file name safe in a `Content-Disposition` header: letters, digits, `-`, `_` and `.`, others as `_`.
    static func safeFilename(_ name: String, fallback: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
        let cleaned = String(name.map { allowed.contains($0) ? $0 : "_" })
            .trimmingCharacters(in: CharacterSet(charactersIn: "."))
        return cleaned.isEmpty ? fallback : cleaned
    }
}
