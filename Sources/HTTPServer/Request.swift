// A request as a route handler receives it: head, path parameters, body, request id.
import Foundation

/// One HTTP request, delivered to a route handler.
public struct Request: Sendable {
    /// The parsed request line and headers.
    public var head: RequestHead
    /// Values of the route's `:name` segments, by name.
    public var pathParameters: [String: String]
    /// The body (empty, in memory, or spooled to a file).
    public var body: RequestBody
    /// Trailer fields of a chunked body.
    public var trailers: HTTPHeaders
    /// The id echoed in the `X-Request-Id` response header and the access log.
    public var requestId: String
    /// The client's address (`127.0.0.1:53312`).
    public var remoteAddress: String

    /// A request built by hand, for testing handlers without a socket.
    public init(
        method: HTTPMethod, target: String, headers: HTTPHeaders = [:], body: RequestBody = .empty,
        pathParameters: [String: String] = [:], requestId: String = "test", remoteAddress: String = "test"
    ) {
        // The query stays as given, so an in-process test can check how `Router.respond` answers a bad one.
        let decoded = try? RequestTarget.decode(target, method: method, checkingQuery: false).get()
        self.head = RequestHead(
            method: method, target: target, path: decoded?.path ?? target, pathSegments: decoded?.segments ?? [],
            query: decoded?.query, minorVersion: 1, headers: headers,
            framing: body.count > 0 ? .contentLength(body.count) : .none, keepAlive: true, expectsContinue: false)
        self.pathParameters = pathParameters
        self.body = body
        self.trailers = [:]
        self.requestId = requestId
        self.remoteAddress = remoteAddress
    }

    init(head: RequestHead, pathParameters: [String: String], body: RequestBody, trailers: HTTPHeaders,
         requestId: String, remoteAddress: String) {
        self.head = head
        self.pathParameters = pathParameters
        self.body = body
        self.trailers = trailers
        self.requestId = requestId
        self.remoteAddress = remoteAddress
    }

    /// The method.
    public var method: HTTPMethod { head.method }
    /// The decoded path.
    public var path: String { head.path }
    /// The header fields.
    public var headers: HTTPHeaders { head.headers }

    /// The decoded query parameters (`a=1&b=x%20y`); a repeated name keeps its last value. The parser answers 400
    /// to a query it cannot decode, so a handler never sees one with parameters missing.
    public var queryParameters: [String: String] {
        guard let query = head.query, !query.isEmpty, case .success(let pairs) = QueryString.decode(query) else {
            return [:]
        }
        return Dictionary(pairs, uniquingKeysWith: { _, last in last })
    }

    /// The path parameter `name`, or a 400 `HTTPError` naming it when absent.
    public func pathParameter(_ name: String) throws -> String {
        guard let value = pathParameters[name] else {
            throw HTTPError(.badRequest, code: "missing_parameter", message: "path parameter '\(name)' is missing", field: name)
        }
        return value
    }

    /// Throws 415 `unsupported_media_type` unless the Content-Type's media type is one of `mediaTypes`
    /// (compared case-insensitively, parameters such as `charset` ignored).
    public func requireContentType(_ mediaTypes: String...) throws {
        let given = headers["Content-Type"]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard let given, mediaTypes.contains(where: { $0.lowercased() == given }) else {
            throw HTTPError(
                .unsupportedMediaType, code: "unsupported_media_type",
                message: "Content-Type must be \(mediaTypes.joined(separator: " or ")), not \(given ?? "absent")",
                field: "Content-Type")
        }
    }
}
