// The one place where errors become HTTP responses: `{"error": {"code", "message", "field"}}` with a status.
import Foundation
import Logging

/// An error that knows its HTTP rendering. Domain errors conform to it; any other error thrown by a handler
/// becomes a 500 `internal_error` with a log line (its text is not shown to the client).
public protocol HTTPResponseError: Error {
    /// The response status (400, 404, 409, 413, 415, 422, 429, 503, …).
    var status: HTTPStatus { get }
    /// A stable, snake_case, machine-readable code (`job_not_found`).
    var code: String { get }
    /// What went wrong and what to do, for people.
    var message: String { get }
    /// The request field at fault (`learning_rate`), when there is one.
    var field: String? { get }
    /// Extra response headers (`Allow` on 405, `Retry-After` on 503).
    var headers: HTTPHeaders { get }
}

extension HTTPResponseError {
    public var field: String? { nil }
    public var headers: HTTPHeaders { [:] }

    /// The JSON error response.
    public var response: Response {
        var response = Response.json(Data(ErrorBody.render(code: code, message: message, field: field).utf8), status: status)
        for header in headers { response.headers.add(name: header.name, value: header.value) }
        return response
    }
}

/// A general-purpose response error.
public struct HTTPError: HTTPResponseError, Sendable, CustomStringConvertible {
    public var status: HTTPStatus
    public var code: String
    public var message: String
    public var field: String?
    public var headers: HTTPHeaders

    public init(_ status: HTTPStatus, code: String, message: String, field: String? = nil, headers: HTTPHeaders = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers
    }

    public var description: String { "\(status.code) \(code): \(message)" }
}

extension HTTPParseError: HTTPResponseError {}

/// Renders error bodies and turns arbitrary errors into responses.
enum ErrorBody {
    /// `{"error":{"code":…,"message":…,"field":…}}` with keys in a fixed order; `field` omitted when nil.
    static func render(code: String, message: String, field: String?) -> String {
        var text = #"{"error":{"code":"# + quote(code) + #","message":"# + quote(message)
        if let field { text += #","field":"# + quote(field) }
        return text + "}}"
    }

    /// The response for any error a handler threw.
    static func response(for error: Error, requestId: String, logger: Logger) -> Response {
        if let error = error as? HTTPResponseError { return error.response }
        logger.error("handler failed", metadata: ["request_id": "\(requestId)", "error": "\(String(reflecting: error))"])
        return HTTPError(.internalServerError, code: "internal_error",
                         message: "the server failed to handle the request; see its log for request \(requestId)").response
    }

    static func quote(_ text: String) -> String { JSONString.quote(text) }
}

/// JSON string literals for bodies written by hand (error bodies here, V2 tensors in the service), where
/// JSONEncoder would cost more than the rest of the response.
public enum JSONString {
    /// `text` as a JSON string literal: quotes, backslashes and control characters escaped.
    public static func quote(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
