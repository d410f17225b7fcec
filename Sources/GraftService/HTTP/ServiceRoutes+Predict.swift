// The prediction route: raw image bodies or JSON batches of base64 images, top-k labels per image.
import Foundation
import HTTPServer

extension ServiceRoutes {
    /// POST /predict: one raw `image/jpeg` or `image/png` body (`?model=ID&top_k=K`), a multipart form
    /// (`model`, `top_k`, image files), or JSON `{"model": ID, "images": [base64, ...], "top_k": K}`.
    func predict(_ request: Request) throws -> Response {
        let contentType = (request.headers["Content-Type"] ?? "").split(separator: ";").first
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        var modelID = request.queryParameters["model"]
        var topK = try Self.integerQuery(request, "top_k", default: 5, range: 1...1000)
        var images: [Data] = []
        switch contentType {
        case "image/jpeg", "image/png":
            images = [try request.body.data()]
        case "application/json":
            guard case .object(let fields) = try Self.jsonBody(request) else {
                throw ServiceError.invalid(field: nil, message: #"Send {"model": "...", "images": ["<base64>"]}."#)
            }
            for key in fields.keys.sorted() where !["model", "top_k", "images"].contains(key) {
                throw ServiceError.invalid(field: key, message:
                    "Unknown field '\(key)'; a JSON prediction takes model, top_k and images.")
            }
            switch fields["model"] {
            case .string(let id)?: modelID = id
            case nil, .null?: break
            default: throw ServiceError.invalid(field: "model", message: "model must be a model id (a string).")
            }
            switch fields["top_k"] {
            case .number(let k)?:
                // the range is the predictor's to check, as for the other body kinds
                guard let whole = Int(exactly: k) else {
                    throw ServiceError.invalid(field: "top_k", message: "top_k must be a whole number.")
                }
                topK = whole
            case nil, .null?: break
            default: throw ServiceError.invalid(field: "top_k", message: "top_k must be a number, such as 3 (not a string).")
            }
            guard case .array(let encoded)? = fields["images"] else {
                throw ServiceError.invalid(field: "images", message: "images must be an array of base64 strings.")
            }
            for (index, item) in encoded.enumerated() {
                guard case .string(let text) = item, let data = Data(base64Encoded: text) else {
                    throw ServiceError.invalid(field: "images[\(index)]", message: "Image \(index) is not base64 text.")
                }
                images.append(data)
            }
        case "multipart/form-data":
            guard let boundary = MultipartForm.boundary(fromContentType: request.headers["Content-Type"] ?? "") else {
                throw ServiceError.invalid(field: "body", message: "The multipart Content-Type has no boundary.")
            }
            let form = try MultipartForm(body: try request.body.data(), boundary: boundary)
            for part in form.parts {
                switch part.name {
                case "model": modelID = String(decoding: part.body, as: UTF8.self)
                case "top_k":
                    guard let k = Int(String(decoding: part.body, as: UTF8.self)) else {
                        throw ServiceError.invalid(field: "top_k", message: "top_k must be a whole number.")
                    }
                    topK = k
                case "image", "images", "file", "files": images.append(part.body)
                default:
                    throw ServiceError.invalid(field: part.name, message:
                        "Unknown form field '\(part.name)'; send model, top_k and image files.")
                }
            }
        default:
            throw HTTPError(.unsupportedMediaType, code: "unsupported_media_type", message:
                "Send an image/jpeg or image/png body, or application/json with base64 images (got '\(contentType)').")
        }
        guard let modelID else {
            throw ServiceError.invalid(field: "model", message: "Name the model: ?model=ID or \"model\" in the JSON.")
        }
        if (try? service.store.model(id: modelID)) == nil {
            throw ServiceError.invalid(field: "model", message:
                "No model has the id '\(modelID)'; GET /models lists them.")
        }
        let predictions = try service.predictor.predict(modelID: modelID, images: images, topK: topK)
        struct Label: Encodable {
            var label: String
            var probability: Double
        }
        struct Item: Encodable {
            var labels: [Label]
        }
        struct Body: Encodable {
            var modelId: String
            var predictions: [Item]
        }
        return try Response.json(Body(modelId: modelID, predictions: predictions.map { prediction in
            Item(labels: prediction.candidates.map { Label(label: $0.label, probability: $0.probability) })
        }))
    }
}
