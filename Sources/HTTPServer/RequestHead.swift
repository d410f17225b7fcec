// A parsed request head (request line and header fields) and how its body is framed.
import Foundation

/// How the body of a request is delimited on the wire.
public enum BodyFraming: Sendable, Equatable {
    /// No body (no Content-Length, no Transfer-Encoding).
    case none
    /// Exactly this many bytes follow the head.
    case contentLength(Int)
    /// `Transfer-Encoding: chunked`.
    case chunked
}

/// The request line and headers of one request, validated and decoded by `HTTPRequestParser`.
public struct RequestHead: Sendable, Equatable {
    /// The method.
    public var method: HTTPMethod
    /// The request target exactly as sent (`/jobs/7?limit=3`).
    public var target: String
    /// The decoded path (`/jobs/7`), percent-escapes resolved; never contains `.` or `..` segments.
    public var path: String
    /// The decoded path split at `/` (a `%2F` inside a segment stays inside it); empty for `/`.
    public var pathSegments: [String]
    /// The raw query string after `?`, without the `?`; nil when absent.
    public var query: String?
    /// The minor version of HTTP/1.x: 0 or 1.
    public var minorVersion: Int
    /// The header fields in order.
    public var headers: HTTPHeaders
    /// How the body is framed.
    public var framing: BodyFraming
    /// Whether the connection may serve another request after this one (HTTP/1.1 default, 1.0 with keep-alive).
    public var keepAlive: Bool
    /// Whether the client sent `Expect: 100-continue` and waits before sending the body.
    public var expectsContinue: Bool
}

/// Why a request was rejected, and the status to answer with. The connection is always closed afterwards.
public struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The status to answer with (400, 413, 414, 417, 431, 501 or 505).
    public var status: HTTPStatus
    /// A short machine-readable code (`invalid_header`, `smuggling`, …).
    public var code: String
    /// What was wrong, for the error body and the log.
    public var message: String
    /// The request part at fault (a query parameter's name), when there is one.
    public var field: String?

    public init(_ status: HTTPStatus, _ code: String, _ message: String, field: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
    }

    public var description: String { "\(status.code) \(code): \(message)" }
}
