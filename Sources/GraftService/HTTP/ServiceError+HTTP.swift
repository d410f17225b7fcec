// Lets the HTTP server render ServiceError as `{"error": {"code", "message", "field"}}` with its status.
import HTTPServer

extension ServiceError: HTTPResponseError {
    public var status: HTTPStatus {
        switch httpStatusCode {
        case 400: return .badRequest
        case 404: return .notFound
        case 409: return .conflict
        case 422: return .unprocessableContent
        case 503: return .serviceUnavailable
        case 507: return HTTPStatus(code: 507, reason: "Insufficient Storage")
        default: return .internalServerError
        }
    }

    public var headers: HTTPHeaders {
        guard case .saturated(_, _, let seconds) = self else { return [:] }
        return ["Retry-After": "\(seconds)"]
    }
}
