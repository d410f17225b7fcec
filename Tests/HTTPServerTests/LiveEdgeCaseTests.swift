// A table of malformed and edge-case requests sent to a real server on 127.0.0.1: status and connection fate.
import Foundation
import Testing
@testable import HTTPServer

/// One raw request, the status it must get, and whether the server must then close the connection.
struct LiveCase: CustomTestStringConvertible, Sendable {
    var name: String
    var request: String
    var status: Int
    var closes: Bool
    var head = false
    /// Checks on the response beyond the status.
    var body: String?
    var header: (String, String)?

    var testDescription: String { name }
}

private let host = "Host: t\r\n"

let liveCases: [LiveCase] = [
    LiveCase(name: "plain GET", request: "GET /health HTTP/1.1\r\n\(host)\r\n", status: 200, closes: false, body: "ok"),
    LiveCase(name: "HTTP/1.0 closes by default", request: "GET /health HTTP/1.0\r\n\r\n", status: 200, closes: true),
    LiveCase(name: "HTTP/1.0 keep-alive", request: "GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
             status: 200, closes: false, header: ("Connection", "keep-alive")),
    LiveCase(name: "Connection: close", request: "GET /health HTTP/1.1\r\n\(host)Connection: close\r\n\r\n",
             status: 200, closes: true, header: ("Connection", "close")),
    LiveCase(name: "leading empty line", request: "\r\nGET /health HTTP/1.1\r\n\(host)\r\n", status: 200, closes: false),
    LiveCase(name: "absolute-form target", request: "GET http://t/health HTTP/1.1\r\n\(host)\r\n", status: 200, closes: false),
    LiveCase(name: "HEAD has no body", request: "HEAD /health HTTP/1.1\r\n\(host)\r\n", status: 200, closes: false,
             head: true, header: ("Content-Length", "2")),
    LiveCase(name: "GET with a body is read and ignored",
             request: "GET /health HTTP/1.1\r\n\(host)Content-Length: 5\r\n\r\nhello", status: 200, closes: false),
    LiveCase(name: "path parameter", request: "GET /jobs/42 HTTP/1.1\r\n\(host)\r\n", status: 200, closes: false, body: "job 42"),
    LiveCase(name: "literal route beats parameter", request: "GET /jobs/new HTTP/1.1\r\n\(host)\r\n", status: 200,
             closes: false, body: "new job form"),
    LiveCase(name: "escaped parameter", request: "GET /jobs/a%20b HTTP/1.1\r\n\(host)\r\n", status: 200, closes: false,
             body: "job a b"),
    LiveCase(name: "query parameters", request: "GET /search?q=cat+dog&n=3 HTTP/1.1\r\n\(host)\r\n", status: 200,
             closes: false, body: "n=3;q=cat dog"),
    LiveCase(name: "unknown route", request: "GET /nowhere HTTP/1.1\r\n\(host)\r\n", status: 404, closes: false),
    LiveCase(name: "wrong method", request: "POST /health HTTP/1.1\r\n\(host)Content-Length: 0\r\n\r\n", status: 405,
             closes: false, header: ("Allow", "GET, HEAD")),
    LiveCase(name: "wrong method with a body closes", request: "PUT /jobs/1 HTTP/1.1\r\n\(host)Content-Length: 2\r\n\r\nhi",
             status: 405, closes: true, header: ("Allow", "GET, HEAD, DELETE")),
    LiveCase(name: "typed handler error", request: "GET /teapot HTTP/1.1\r\n\(host)\r\n", status: 422, closes: false,
             body: #"{"error":{"code":"invalid_value","message":"learning rate must be positive","field":"learning_rate"}}"#),
    LiveCase(name: "untyped handler error", request: "GET /opaque HTTP/1.1\r\n\(host)\r\n", status: 500, closes: false),
    LiveCase(name: "garbage request line", request: "GARBAGE\r\n\r\n", status: 400, closes: true),
    LiveCase(name: "missing version", request: "GET /health\r\n\(host)\r\n", status: 400, closes: true),
    LiveCase(name: "unknown method", request: "BREW /health HTTP/1.1\r\n\(host)\r\n", status: 501, closes: true),
    LiveCase(name: "HTTP/2.0 request line", request: "GET /health HTTP/2.0\r\n\(host)\r\n", status: 505, closes: true),
    LiveCase(name: "no Host in HTTP/1.1", request: "GET /health HTTP/1.1\r\n\r\n", status: 400, closes: true),
    LiveCase(name: "two Host headers", request: "GET /health HTTP/1.1\r\n\(host)\(host)\r\n", status: 400, closes: true),
    LiveCase(name: "header without colon", request: "GET /health HTTP/1.1\r\n\(host)Oops\r\n\r\n", status: 400, closes: true),
    LiveCase(name: "space before colon", request: "GET /health HTTP/1.1\r\nHost : t\r\n\r\n", status: 400, closes: true),
    LiveCase(name: "obs-fold", request: "GET /health HTTP/1.1\r\n\(host)X: a\r\n b\r\n\r\n", status: 400, closes: true),
    LiveCase(name: "control byte in value", request: "GET /health HTTP/1.1\r\n\(host)X: a\u{1b}b\r\n\r\n", status: 400,
             closes: true),
    LiveCase(name: "bare LF", request: "GET /health HTTP/1.1\n\(host)\n", status: 400, closes: true),
    LiveCase(name: "dot-dot path", request: "GET /jobs/../health HTTP/1.1\r\n\(host)\r\n", status: 400, closes: true),
    LiveCase(name: "escaped dot-dot path", request: "GET /jobs/%2E%2e/health HTTP/1.1\r\n\(host)\r\n", status: 400, closes: true),
    LiveCase(name: "non-UTF-8 path", request: "GET /jobs/%C3%28 HTTP/1.1\r\n\(host)\r\n", status: 400, closes: true),
    LiveCase(name: "NUL in path", request: "GET /jobs/a%00 HTTP/1.1\r\n\(host)\r\n", status: 400, closes: true),
    LiveCase(name: "fragment in target", request: "GET /health#x HTTP/1.1\r\n\(host)\r\n", status: 400, closes: true),
    LiveCase(name: "Content-Length with Transfer-Encoding (smuggling)",
             request: "POST /echo HTTP/1.1\r\n\(host)Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
             status: 400, closes: true),
    LiveCase(name: "conflicting Content-Length",
             request: "POST /echo HTTP/1.1\r\n\(host)Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", status: 400, closes: true),
    LiveCase(name: "negative Content-Length", request: "POST /echo HTTP/1.1\r\n\(host)Content-Length: -3\r\n\r\n",
             status: 400, closes: true),
    LiveCase(name: "unsupported transfer coding", request: "POST /echo HTTP/1.1\r\n\(host)Transfer-Encoding: gzip\r\n\r\n",
             status: 501, closes: true),
    LiveCase(name: "bad chunk size",
             request: "POST /echo HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
             status: 400, closes: true),
    LiveCase(name: "chunk without CRLF",
             request: "POST /echo HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\n5\r\nhelloX0\r\n\r\n",
             status: 400, closes: true),
    LiveCase(name: "chunk-size overflow",
             request: "POST /echo HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\n10000000000000000\r\n",
             status: 400, closes: true),
    LiveCase(name: "Content-Length beyond the route cap",
             request: "POST /echo HTTP/1.1\r\n\(host)Content-Length: 2000000\r\n\r\n", status: 413, closes: true),
    LiveCase(name: "unsupported Expect", request: "POST /echo HTTP/1.1\r\n\(host)Expect: tea\r\nContent-Length: 1\r\n\r\nx",
             status: 417, closes: true),
    LiveCase(name: "request line too long", request: "GET /" + String(repeating: "a", count: 1100) + " HTTP/1.1\r\n\(host)\r\n",
             status: 414, closes: true),
    LiveCase(name: "header section too large", request: "GET /health HTTP/1.1\r\n\(host)X: " + String(repeating: "v", count: 9000)
             + "\r\n\r\n", status: 431, closes: true),
    LiveCase(name: "too many headers", request: "GET /health HTTP/1.1\r\n\(host)" + String(repeating: "X: y\r\n", count: 25)
             + "\r\n", status: 431, closes: true),
    LiveCase(name: "Host with a space", request: "GET /health HTTP/1.1\r\nHost: a b\r\n\r\n", status: 400, closes: true,
             body: #"{"error":{"code":"invalid_host","message":"Host 'a b' is invalid: the host may hold only letters, "#
                + #"digits, '-._~', '!$&'()*+,;=' and %XX escapes"}}"#),
    LiveCase(name: "Host with a bad port", request: "GET /health HTTP/1.1\r\nHost: t:http\r\n\r\n", status: 400, closes: true),
    LiveCase(name: "Host IP literal", request: "GET /health HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", status: 200, closes: false),
    LiveCase(name: "undecodable query value",
             request: "GET /search?q=ok&n=%zz HTTP/1.1\r\n\(host)\r\n", status: 400, closes: true,
             body: #"{"error":{"code":"invalid_query","message":"the value of query parameter 'n' has a bad "#
                + #"percent-escape, a control character or bytes that are not UTF-8; escape each byte of its UTF-8 text "#
                + #"as %XX","field":"n"}}"#),
    LiveCase(name: "query that is not UTF-8", request: "GET /search?q=%C3%28 HTTP/1.1\r\n\(host)\r\n", status: 400,
             closes: true),
    LiveCase(name: "two Authorization headers",
             request: "GET /health HTTP/1.1\r\n\(host)Authorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n",
             status: 400, closes: true),
    LiveCase(name: "Transfer-Encoding in HTTP/1.0", request: "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
             status: 400, closes: true),
]

@Suite("Live server: malformed and edge-case requests")
struct LiveEdgeCaseTests {
    @Test("status and connection behaviour", arguments: liveCases)
    func edgeCase(_ row: LiveCase) throws {
        let server = try TestServer.start()
        defer { server.shutdown(gracePeriod: 1) }
        let client = try TestClient(port: server.port)
        try client.send(row.request)
        let response = try client.readResponse(head: row.head)
        #expect(response.status == row.status)
        #expect(response.header("X-Request-Id")?.isEmpty == false)
        if let body = row.body { #expect(response.text == body) }
        if let (name, value) = row.header { #expect(response.header(name) == value) }
        if row.head { #expect(response.body.isEmpty) }
        if response.status >= 400 {
            #expect(response.header("Content-Type") == "application/json")
            let json = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
            let error = json?["error"] as? [String: Any]
            #expect(error?["code"] is String)
            #expect(error?["message"] is String)
        }
        if row.closes {
            #expect(client.isClosedByServer(), "the server must close the connection")
        } else {
            try client.send("GET /health HTTP/1.1\r\n\(host)\r\n")
            let next = try client.readResponse()
            #expect(next.status == 200 && next.text == "ok", "the connection must stay usable")
        }
    }
}
