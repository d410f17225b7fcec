// The model and dataset routes: list, show, delete (files removed only under the service's data folder).
import Foundation
import HTTPServer
import ImageData
import NeuralNetwork
import Tensors

extension ServiceRoutes {
    func registerCatalogRoutes(on router: Router) {
        router.get("/models") { _ in
            try Response.json(["models": try service.store.listModels().map(ModelBody.init)])
        }
        router.post("/models", maxBodySize: service.configuration.maxUploadBytes) { request in
            try importModel(request)
        }
        router.get("/models/:id") { request in
            try Response.json(ModelDetailBody(try service.store.model(id: try request.pathParameter("id"))))
        }
        router.get("/models/:id/export") { request in try exportModel(request) }
        router.delete("/models/:id") { request in
            let model = try service.store.deleteModel(id: try request.pathParameter("id"),
                                                      deletableBases: service.importedModelsDirectory)
            removeIfInside(URL(fileURLWithPath: model.path), root: service.configuration.modelsDirectory)
            return Response(status: .noContent)
        }
        router.post("/datasets", maxBodySize: service.configuration.maxUploadBytes) { request in
            return try createDataset(request)
        }
        router.get("/datasets") { _ in
            try Response.json(["datasets": try service.store.listDatasets().map(DatasetBody.init)])
        }
        router.get("/datasets/:id") { request in
            try Response.json(DatasetBody(try service.store.dataset(id: try request.pathParameter("id"))))
        }
        router.delete("/datasets/:id") { request in
            let dataset = try service.store.deleteDataset(id: try request.pathParameter("id"))
            // A folder dataset belongs to the user: only uploaded copies are removed.
            if dataset.source == .upload {
                removeIfInside(URL(fileURLWithPath: dataset.path), root: service.configuration.datasetsDirectory)
            }
            return Response(status: .noContent)
        }
    }

    /// Archive types accepted as a dataset upload.
    static let archiveContentTypes: Set<String> = [
        "application/zip", "application/x-zip-compressed", "application/x-tar", "application/gzip",
        "application/x-gzip", "application/x-gtar", "application/x-compressed-tar", "application/octet-stream",
    ]

    /// POST /datasets: an archive body (streamed to disk by the server), or JSON naming a folder under the data
    /// root. 201 with the dataset and its validation report.
    private func createDataset(_ request: Request) throws -> Response {
        let contentType = (request.headers["Content-Type"] ?? "").split(separator: ";").first
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        let name = request.queryParameters["name"]
        let result: (DatasetRecord, ValidationReport)
        if contentType == "application/json" {
            guard case .object(let fields) = try Self.jsonBody(request) else {
                throw ServiceError.invalid(field: nil, message: #"Send {"folder": "relative/path", "name": "..."}."#)
            }
            guard case .string(let folder)? = fields["folder"] else {
                throw ServiceError.invalid(field: "folder", message: "folder must name a folder under the data root.")
            }
            var jsonName: String?
            if case .string(let given)? = fields["name"] { jsonName = given }
            result = try service.registerDatasetFolder(relativePath: folder, name: jsonName ?? name)
        } else if Self.archiveContentTypes.contains(contentType) {
            guard request.body.count > 0 else {
                throw ServiceError.invalid(field: "body", message: "The upload is empty; send a zip or tar.gz file.")
            }
            let staged = service.configuration.datasetsDirectory
                .appendingPathComponent("incoming-" + UUID().uuidString)
            try request.body.moveFile(to: staged)
            defer { try? FileManager.default.removeItem(at: staged) }
            result = try service.importDatasetArchive(at: staged, name: name)
        } else {
            throw HTTPError(.unsupportedMediaType, code: "unsupported_media_type", message:
                "Upload a dataset as application/zip, application/x-tar or application/gzip, or send "
                + "application/json naming a folder (got '\(contentType)').")
        }
        var response = try Response.json(DatasetBody(result.0), status: .created)
        response.headers.add(name: "Location", value: "/datasets/\(result.0.id)")
        return response
    }

    /// POST /models: an ONNX classifier as the raw body (`application/octet-stream`, options in the query) or a
    /// multipart form (`model` file, `labels` file, options as fields). 201 with the model and its layer summary.
    private func importModel(_ request: Request) throws -> Response {
        let contentType = (request.headers["Content-Type"] ?? "").split(separator: ";").first
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        var fields = request.queryParameters
        var onnx: Service.ONNXUpload?
        var labelsText: String?
        switch contentType {
        case "application/octet-stream", "application/onnx", "application/x-onnx":
            if let file = request.body.fileURL {
                onnx = .file(file)
            } else if request.body.count > 0 {
                onnx = .bytes(try request.body.data())
            }
        case "multipart/form-data":
            guard let boundary = MultipartForm.boundary(fromContentType: request.headers["Content-Type"] ?? "") else {
                throw ServiceError.invalid(field: "body", message: "The multipart Content-Type has no boundary.")
            }
            for part in try MultipartForm(body: try request.body.data(), boundary: boundary).parts {
                switch part.name {
                case "model": onnx = part.body.isEmpty ? nil : .bytes(part.body)
                case "labels": labelsText = String(decoding: part.body, as: UTF8.self)
                case "name", "size", "mean", "std", "resize", "crop_fraction":
                    fields[part.name] = String(decoding: part.body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                default:
                    throw ServiceError.invalid(field: part.name, message:
                        "Unknown form field '\(part.name)'; send model, labels, name, size, mean, std, resize, crop_fraction.")
                }
            }
        default:
            throw HTTPError(.unsupportedMediaType, code: "unsupported_media_type", message:
                "Upload the .onnx file as application/octet-stream (options in the query) or as the 'model' field of a "
                + "multipart/form-data form (got '\(contentType)').")
        }
        guard let onnx else {
            throw ServiceError.invalid(field: "model", message: "The upload has no ONNX file; send it as the body or the 'model' field.")
        }
        guard let name = fields["name"], !name.isEmpty else {
            throw ServiceError.invalid(field: "name", message: "Name the new base model with ?name=... (or a 'name' field).")
        }
        var options = ONNXImport.Options(name: name)
        if let text = labelsText {
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
            }
            if lines.last == "" { lines.removeLast() }
            if let empty = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
                throw ServiceError.invalid(field: "labels", message: "Line \(empty + 1) of the labels file is empty; give one class name per line.")
            }
            options.labels = lines
        }
        func numbers(_ key: String) throws -> [Float]? {
            guard let text = fields[key] else { return nil }
            let values = text.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
            guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else {
                throw ServiceError.invalid(field: key, message: "\(key) must be comma-separated numbers, got '\(text)'.")
            }
            return values.map { $0! }
        }
        if let size = fields["size"] {
            guard let value = Int(size), (8...4096).contains(value) else {
                throw ServiceError.invalid(field: "size", message: "size must be a whole number of pixels in 8…4096, got '\(size)'.")
            }
            options.size = value
        }
        if let mean = try numbers("mean") { options.mean = mean }
        if let std = try numbers("std") { options.std = std }
        if let resize = fields["resize"] {
            guard let policy = ResizePolicy(name: resize) else {
                throw ServiceError.invalid(field: "resize", message: "resize must be shorter_side_then_center_crop, stretch or none.")
            }
            options.resize = policy
        }
        if let crop = fields["crop_fraction"] {
            guard let value = Double(crop), value > 0, value <= 1 else {
                throw ServiceError.invalid(field: "crop_fraction", message: "crop_fraction must be in (0, 1], got '\(crop)'.")
            }
            options.cropFraction = value
        }
        let record = try service.importONNXModel(onnx, id: name, options: options)
        var response = try Response.json(ModelDetailBody(record), status: .created)
        response.headers.add(name: "Location", value: "/models/\(record.id)")
        return response
    }

    /// Removes `url` only when it lies strictly inside `root`, so a bad row can never delete other files.
    private func removeIfInside(_ url: URL, root: URL) {
        let path = url.standardizedFileURL.resolvingSymlinksInPath().path
        let rootPath = root.standardizedFileURL.resolvingSymlinksInPath().path
        guard path.hasPrefix(rootPath + "/") else { return }
        try? FileManager.default.removeItem(atPath: path)
    }
}
