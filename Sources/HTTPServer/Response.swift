// A response as a handler returns it: status, headers, and a body of bytes or a stream (chunked, SSE).
import Foundation

/// What a route handler answers. `Content-Length`, `Connection`, `Date` and `X-Request-Id` are added by the server.
public struct Response: Sendable {
    /// How the body is produced.
    public enum Body: Sendable {
        /// No body (Content-Length: 0).
        case empty
        /// A body known in full, sent with Content-Length together with the head in one send.
        case bytes([UInt8])
        /// A body written piece by piece with `Transfer-Encoding: chunked` (to HTTP/1.0 clients: raw, then close).
        /// The closure runs on the connection's thread and may block; each `write` reaches the client at once.
        case stream(@Sendable (ResponseBodyWriter) throws -> Void)
        /// The contents of a file, sent with Content-Length in pieces (model weights, exported archives).
        case file(URL)
    }

    public var status: HTTPStatus
    public var headers: HTTPHeaders
    public var body: Body
    /// Close the connection after this response even if the client wanted to keep it.
    public var closesConnection = false

    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = [:], body: Body = .empty) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A plain-text response (`text/plain; charset=utf-8`).
    public static func text(_ text: String, status: HTTPStatus = .ok) -> Response {
        Response(status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: .bytes(Array(text.utf8)))
    }

    /// A response of raw bytes with the given content type.
    public static func bytes(_ bytes: [UInt8], contentType: String, status: HTTPStatus = .ok) -> Response {
        Response(status: status, headers: ["Content-Type": contentType], body: .bytes(bytes))
    }

    /// A JSON response from already-encoded bytes.
    public static func json(_ data: Data, status: HTTPStatus = .ok) -> Response {
        Response(status: status, headers: ["Content-Type": "application/json"], body: .bytes(Array(data)))
    }

    /// A JSON response encoding `value` (snake_case keys, ISO-8601 dates, as DESIGN.md's HTTP conventions ask).
    public static func json<Value: Encodable>(_ value: Value, status: HTTPStatus = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return json(try encoder.encode(value), status: status)
    }

    /// A file download; a file that cannot be opened when the response is sent becomes a 500.
    public static func file(_ url: URL, contentType: String = "application/octet-stream", status: HTTPStatus = .ok) -> Response {
        Response(status: status, headers: ["Content-Type": contentType], body: .file(url))
    }

    /// A chunked streaming response.
    public static func stream(
        contentType: String, status: HTTPStatus = .ok, _ body: @escaping @Sendable (ResponseBodyWriter) throws -> Void
    ) -> Response {
        Response(status: status, headers: ["Content-Type": contentType], body: .stream(body))
    }

    /// A Server-Sent Events stream (`text/event-stream`): `body` sends events until it returns, the client goes
    /// away (a send throws), or the server stops (`EventStream.isServerStopping`).
    public static func serverSentEvents(_ body: @escaping @Sendable (EventStream) throws -> Void) -> Response {
        var response = stream(contentType: "text/event-stream") { writer in try body(EventStream(writer: writer)) }
        response.headers.add(name: "Cache-Control", value: "no-cache")
        return response
    }
}

/// Writes the pieces of a streaming response body to the client. Used only on the connection's own thread.
public final class ResponseBodyWriter {
    private let send: ([UInt8]) throws -> Void
    private let clientGone: () -> Bool
    private let serverStopping: () -> Bool

    init(send: @escaping ([UInt8]) throws -> Void, clientGone: @escaping () -> Bool, serverStopping: @escaping () -> Bool) {
        self.send = send
        self.clientGone = clientGone
        self.serverStopping = serverStopping
    }

    /// Sends `bytes` as one chunk at once; throws when the client has gone away. Empty writes are skipped.
    public func write(_ bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { return }
        try send(bytes)
    }

    /// Sends the UTF-8 bytes of `text` as one chunk.
    public func write(_ text: String) throws { try write(Array(text.utf8)) }

    /// False once the client has closed its side; check it while waiting between writes.
    public var isClientConnected: Bool { !clientGone() }

    /// True once the server began a graceful shutdown: finish the stream soon.
    public var isServerStopping: Bool { serverStopping() }
}

/// Sends Server-Sent Events (the WHATWG `text/event-stream` format) over a streaming response.
public final class EventStream {
    private let writer: ResponseBodyWriter

    init(writer: ResponseBodyWriter) {
        self.writer = writer
    }

    /// Sends one event; `data` may span lines (each becomes a `data:` line). Throws when the client is gone.
    public func send(data: String, event: String? = nil, id: String? = nil, retryMilliseconds: Int? = nil) throws {
        try writer.write(Self.format(data: data, event: event, id: id, retryMilliseconds: retryMilliseconds))
    }

    /// Sends a comment line, which clients ignore: a keep-alive through proxies, and a probe for a gone client.
    public func comment(_ text: String = "") throws {
        try writer.write(": " + text.replacingOccurrences(of: "\n", with: " ") + "\n\n")
    }

    /// False once the client has closed its side.
    public var isClientConnected: Bool { writer.isClientConnected }

    /// True once the server began a graceful shutdown.
    public var isServerStopping: Bool { writer.isServerStopping }

    /// The wire form of one event.
    static func format(data: String, event: String?, id: String?, retryMilliseconds: Int?) -> String {
        var text = ""
        // Field values must not contain line breaks; event and id are single-line by definition.
        if let event { text += "event: " + event.replacingOccurrences(of: "\n", with: " ") + "\n" }
        if let id { text += "id: " + id.replacingOccurrences(of: "\n", with: " ") + "\n" }
        if let retryMilliseconds { text += "retry: \(retryMilliseconds)\n" }
        let lines = data.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
        for line in lines { text += "data: " + line + "\n" }
        return text + "\n"
    }
}
