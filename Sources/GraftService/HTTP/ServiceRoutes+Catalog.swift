// The model and dataset routes: list, show, delete (files removed only under the service's data folder).
import Foundation
import HTTPServer
import ImageData

extension ServiceRoutes {
    func registerCatalogRoutes(on router: Router) {
        router.get("/models") { _ in
            try Response.json(["models": try service.store.listModels().map(ModelBody.init)])
        }
        router.get("/models/:id") { request in
            try Response.json(ModelDetailBody(try service.store.model(id: try request.pathParameter("id"))))
        }
        router.get("/models/:id/export") { request in try exportModel(request) }
        router.delete("/models/:id") { request in
            let model = try service.store.deleteFineTunedModel(id: try request.pathParameter("id"))
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

    /// Removes `url` only when it lies strictly inside `root`, so a bad row can never delete other files.
    private func removeIfInside(_ url: URL, root: URL) {
        let path = url.standardizedFileURL.resolvingSymlinksInPath().path
        let rootPath = root.standardizedFileURL.resolvingSymlinksInPath().path
        guard path.hasPrefix(rootPath + "/") else { return }
        try? FileManager.default.removeItem(atPath: path)
    }
}
