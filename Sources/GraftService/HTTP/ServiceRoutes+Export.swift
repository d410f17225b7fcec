// GET /models/:id/export?format=onnx|safetensors: a registered model as a download.
import Foundation
import HTTPServer

extension ServiceRoutes {
    /// The export as an attachment named after the model; the format defaults to ONNX.
    func exportModel(_ request: Request) throws -> Response {
        let format = try ModelExport.Format(query: request.queryParameters["format"])
        let export = try service.exportModel(id: try request.pathParameter("id"), format: format)
        var response: Response
        switch export.content {
        case .bytes(let data): response = Response.bytes(Array(data), contentType: "application/octet-stream")
        case .file(let url): response = Response.file(url)
        }
        response.headers.add(name: "Content-Disposition", value: "attachment; filename=\"\(export.filename)\"")
        return response
    }
}
