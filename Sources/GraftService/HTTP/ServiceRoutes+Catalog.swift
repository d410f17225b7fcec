// The model and dataset routes: list, show, delete (files removed only under the service's data folder).
import Foundation
import HTTPServer

extension ServiceRoutes {
    func registerCatalogRoutes(on router: Router) {
        router.get("/models") { _ in
            try Response.json(["models": try service.store.listModels().map(ModelBody.init)])
        }
        router.get("/models/:id") { request in
            try Response.json(ModelBody(try service.store.model(id: try request.pathParameter("id"))))
        }
        router.delete("/models/:id") { request in
            try authorize(request)
            let model = try service.store.deleteFineTunedModel(id: try request.pathParameter("id"))
            removeIfInside(URL(fileURLWithPath: model.path), root: service.configuration.modelsDirectory)
            return Response(status: .noContent)
        }
        router.get("/datasets") { _ in
            try Response.json(["datasets": try service.store.listDatasets().map(DatasetBody.init)])
        }
        router.get("/datasets/:id") { request in
            try Response.json(DatasetBody(try service.store.dataset(id: try request.pathParameter("id"))))
        }
        router.delete("/datasets/:id") { request in
            try authorize(request)
            let dataset = try service.store.deleteDataset(id: try request.pathParameter("id"))
            // A folder dataset belongs to the user: only uploaded copies are removed.
            if dataset.source == .upload {
                removeIfInside(URL(fileURLWithPath: dataset.path), root: service.configuration.datasetsDirectory)
            }
            return Response(status: .noContent)
        }
    }

    /// Removes `url` only when it lies strictly inside `root`, so a bad row can never delete other files.
    private func removeIfInside(_ url: URL, root: URL) {
        let path = url.standardizedFileURL.resolvingSymlinksInPath().path
        let rootPath = root.standardizedFileURL.resolvingSymlinksInPath().path
        guard path.hasPrefix(rootPath + "/") else { return }
        try? FileManager.default.removeItem(atPath: path)
    }
}
