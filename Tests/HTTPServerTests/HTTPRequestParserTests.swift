// Table tests of the request-head parser: valid heads whole, byte by byte and by every prefix; invalid heads.
import Foundation
import Testing
@testable import HTTPServer

/// A valid head and what the parser must make of it.
struct ValidHead: CustomTestStringConvertible, Sendable {
    var input: String
    var method: HTTPMethod
    var path: String
    var segments: [String]
    var query: String?
    var minorVersion = 1
    var framing = BodyFraming.none
    var keepAlive = true
    var expectsContinue = false
    var headerCount: Int
    var trailing = ""  // bytes after the head (a body or the next request)

    var testDescription: String { input.prefix(40).replacingOccurrences(of: "\r\n", with: "⏎") }
}

/// An invalid head, the status the parser must choose, and its error code.
struct InvalidHead: CustomTestStringConvertible, Sendable {
    var input: [UInt8]
    var status: Int
    var code: String
    var limits = HTTPRequestParser.Limits(maxRequestLineLength: 256, maxHeaderBytes: 1024, maxHeaderCount: 8)

    init(_ input: String, _ status: Int, _ code: String) {
        self.input = Array(input.utf8)
        self.status = status
        self.code = code
    }

    init(bytes: [UInt8], _ status: Int, _ code: String) {
        self.input = bytes
        self.status = status
        self.code = code
    }

    var testDescription: String { "\(code): " + String(decoding: input.prefix(40), as: UTF8.self).replacingOccurrences(of: "\r\n", with: "⏎") }
}

let validHeads: [ValidHead] = [
    ValidHead(input: "GET / HTTP/1.1\r\nHost: a\r\n\r\n", method: .get, path: "/", segments: [], headerCount: 1),
    ValidHead(input: "GET /health HTTP/1.1\r\nHost: localhost:8080\r\nAccept: */*\r\n\r\n", method: .get,
              path: "/health", segments: ["health"], headerCount: 2),
    ValidHead(input: "GET /jobs/7?limit=3&x=%20 HTTP/1.1\r\nHost: a\r\n\r\n", method: .get, path: "/jobs/7",
              segments: ["jobs", "7"], query: "limit=3&x=%20", headerCount: 1),
    ValidHead(input: "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", method: .post, path: "/echo",
              segments: ["echo"], framing: .contentLength(5), headerCount: 2, trailing: "hello"),
    ValidHead(input: "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", method: .post, path: "/echo",
              segments: ["echo"], framing: .chunked, headerCount: 2, trailing: "5\r\nhello\r\n0\r\n\r\n"),
    ValidHead(input: "POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\nExpect: 100-Continue\r\n\r\n",
              method: .post, path: "/u", segments: ["u"], framing: .chunked, expectsContinue: true, headerCount: 3),
    ValidHead(input: "GET / HTTP/1.0\r\n\r\n", method: .get, path: "/", segments: [], minorVersion: 0,
              keepAlive: false, headerCount: 0),
    ValidHead(input: "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", method: .get, path: "/", segments: [],
              minorVersion: 0, keepAlive: true, headerCount: 1),
    ValidHead(input: "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n", method: .get, path: "/",
              segments: [], keepAlive: false, headerCount: 2),
    ValidHead(input: "\r\n\r\nHEAD /a%2Fb/c%C3%A9 HTTP/1.1\r\nHost: a\r\n\r\n", method: .head, path: "/a/b/cé",
              segments: ["a/b", "cé"], headerCount: 1),
    ValidHead(input: "DELETE /jobs/9 HTTP/1.1\r\nhost:a\r\nX-Empty:\r\nX-Tab:\tv \t\r\n\r\n", method: .delete,
              path: "/jobs/9", segments: ["jobs", "9"], headerCount: 3),
    ValidHead(input: "PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\n", method: .put, path: "/x",
              segments: ["x"], framing: .contentLength(3), headerCount: 2, trailing: "abc"),
    ValidHead(input: "PATCH /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", method: .patch, path: "/x",
              segments: ["x"], headerCount: 2),
    ValidHead(input: "GET http://example.com/a/b?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n", method: .get, path: "/a/b",
              segments: ["a", "b"], query: "q=1", headerCount: 1),
    ValidHead(input: "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", method: .options, path: "*", segments: [], headerCount: 1),
    ValidHead(input: "GET / HTTP/1.1\r\nHost: a\r\nX-Utf8: caf\u{e9}\r\n\r\n", method: .get, path: "/", segments: [],
              headerCount: 2, trailing: "GET /next HTTP/1.1\r\n"),
    ValidHead(input: "GET / HTTP/1.9\r\nHost: a\r\n\r\n", method: .get, path: "/", segments: [], headerCount: 1),
    // Host: every form RFC 3986 allows.
    ValidHead(input: "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", method: .get, path: "/", segments: [], headerCount: 1),
    ValidHead(input: "GET / HTTP/1.1\r\nHost: 192.0.2.7:80\r\n\r\n", method: .get, path: "/", segments: [], headerCount: 1),
    ValidHead(input: "GET / HTTP/1.1\r\nHost: [2001:db8::ffff:192.0.2.1]\r\n\r\n", method: .get, path: "/",
              segments: [], headerCount: 1),
    ValidHead(input: "GET / HTTP/1.1\r\nHost: [1:2:3:4:5:6:7:8]:0\r\n\r\n", method: .get, path: "/", segments: [],
              headerCount: 1),
    ValidHead(input: "GET / HTTP/1.1\r\nHost: [v1.fe80::a+en1]\r\n\r\n", method: .get, path: "/", segments: [],
              headerCount: 1),
    ValidHead(input: "GET / HTTP/1.1\r\nHost: Ex-am_ple.~!$&'()*+,;=%41:\r\n\r\n", method: .get, path: "/",
              segments: [], headerCount: 1),
    ValidHead(input: "GET / HTTP/1.1\r\nHost:\r\n\r\n", method: .get, path: "/", segments: [], headerCount: 1),
    ValidHead(input: "GET http://[::1]:8080?q=1 HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", method: .get, path: "/",
              segments: [], query: "q=1", headerCount: 1),
    // Queries that decode: UTF-8 escapes, '+', a name without '=', empty pairs.
    ValidHead(input: "GET /s?a=%E2%82%AC&b=+x&c&&d= HTTP/1.1\r\nHost: a\r\n\r\n", method: .get, path: "/s",
              segments: ["s"], query: "a=%E2%82%AC&b=+x&c&&d=", headerCount: 1),
    ValidHead(input: "GET /s HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer t\r\n\r\n", method: .get, path: "/s",
              segments: ["s"], headerCount: 2),
]

let invalidHeads: [InvalidHead] = [
    InvalidHead("GARBAGE\r\n\r\n", 400, "invalid_request_line"),
    InvalidHead("GET /\r\nHost: a\r\n\r\n", 400, "invalid_request_line"),
    InvalidHead("GET / HTTP/1.1 extra\r\nHost: a\r\n\r\n", 400, "invalid_request_line"),
    InvalidHead("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_target"),
    InvalidHead("GET / http/1.1\r\nHost: a\r\n\r\n", 400, "invalid_request_line"),
    InvalidHead("GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400, "invalid_request_line"),
    InvalidHead("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "unsupported_version"),
    InvalidHead("BREW / HTTP/1.1\r\nHost: a\r\n\r\n", 501, "unknown_method"),
    InvalidHead("get / HTTP/1.1\r\nHost: a\r\n\r\n", 501, "unknown_method"),
    InvalidHead("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_method"),
    InvalidHead("GET relative HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_target"),
    InvalidHead("GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_target"),
    InvalidHead("GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_target"),
    InvalidHead("GET /a/../b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_path"),
    InvalidHead("GET /a/%2e%2E/b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_path"),
    InvalidHead("GET /./b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_path"),
    InvalidHead("GET /%ff HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_path"),
    InvalidHead("GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_path"),
    InvalidHead("GET /%4 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_path"),
    InvalidHead("GET /a%00b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_path"),
    InvalidHead(bytes: Array("GET /caf".utf8) + [0xC3, 0xA9] + Array(" HTTP/1.1\r\nHost: a\r\n\r\n".utf8), 400, "invalid_target"),
    InvalidHead("GET / HTTP/1.1\r\n\r\n", 400, "invalid_host"),
    InvalidHead("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "invalid_host"),
    InvalidHead("GET / HTTP/1.1\r\nHost a\r\n\r\n", 400, "invalid_header"),
    InvalidHead("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, "invalid_header_name"),
    InvalidHead("GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n", 400, "invalid_header"),
    InvalidHead("GET / HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n", 400, "obsolete_line_folding"),
    InvalidHead("GET / HTTP/1.1\r\nHost: a\r\nX-Bad: a\u{01}b\r\n\r\n", 400, "invalid_header_value"),
    InvalidHead("GET / HTTP/1.1\r\nHost: a\r\nX-Bad: a\u{7f}b\r\n\r\n", 400, "invalid_header_value"),
    InvalidHead("GET / HTTP/1.1\nHost: a\n\n", 400, "bare_lf"),
    InvalidHead("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400, "bare_cr"),
    InvalidHead("\n", 400, "bare_lf"),
    InvalidHead("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "smuggling"),
    InvalidHead("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400, "smuggling"),
    InvalidHead("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400, "conflicting_content_length"),
    InvalidHead("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n", 400, "conflicting_content_length"),
    InvalidHead("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400, "invalid_content_length"),
    InvalidHead("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400, "invalid_content_length"),
    InvalidHead("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", 400, "invalid_content_length"),
    InvalidHead("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", 400, "invalid_content_length"),
    InvalidHead("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", 400, "invalid_content_length"),
    InvalidHead("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, "unsupported_transfer_coding"),
    InvalidHead("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "invalid_transfer_encoding"),
    InvalidHead("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "invalid_transfer_encoding"),
    InvalidHead("POST / HTTP/1.1\r\nHost: a\r\nExpect: the-unexpected\r\n\r\n", 417, "unsupported_expectation"),
    InvalidHead("GET /" + String(repeating: "a", count: 300) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414, "request_line_too_long"),
    InvalidHead("GET /" + String(repeating: "a", count: 300), 414, "request_line_too_long"),
    InvalidHead("GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "v", count: 1100) + "\r\n\r\n", 431, "header_too_large"),
    InvalidHead("GET / HTTP/1.1\r\nHost: a\r\n" + String(repeating: "X: y\r\n", count: 9) + "\r\n", 431, "too_many_headers"),
    InvalidHead("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "empty_lines"),
    // Host: anything but a reg-name, an IP literal and an optional port.
    InvalidHead("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "invalid_host"),
    InvalidHead("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, "invalid_host"),
    InvalidHead("GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", 400, "invalid_host"),
    InvalidHead("GET / HTTP/1.1\r\nHost: a\"b\r\n\r\n", 400, "invalid_host"),
    InvalidHead("GET / HTTP/1.1\r\nHost: %zz\r\n\r\n", 400, "invalid_host"),
    InvalidHead("GET / HTTP/1.1\r\nHost: caf\u{e9}.example\r\n\r\n", 400, "invalid_host"),
    InvalidHead("GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n", 400, "invalid_host"),
    InvalidHead("GET / HTTP/1.1\r\nHost: a:8o\r\n\r\n", 400, "invalid_host"),
    InvalidHead("GET / HTTP/1.1\r\nHost: a:80:80\r\n\r\n", 400, "invalid_host"),
    InvalidHead("GET / HTTP/1.1\r\nHost: ::1\r\n\r\n", 400, "invalid_host"),
    InvalidHead("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400, "invalid_host"),
    InvalidHead("GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", 400, "invalid_host"),
    InvalidHead("GET / HTTP/1.1\r\nHost: [1:2:3]\r\n\r\n", 400, "invalid_host"),
    InvalidHead("GET / HTTP/1.1\r\nHost: [1::2::3]\r\n\r\n", 400, "invalid_host"),
    InvalidHead("GET / HTTP/1.1\r\nHost: [12345::]\r\n\r\n", 400, "invalid_host"),
    InvalidHead("GET / HTTP/1.1\r\nHost: [1:2:3:4:5:6:7:8:9]\r\n\r\n", 400, "invalid_host"),
    InvalidHead("GET / HTTP/1.1\r\nHost: [::1.2.3.256]\r\n\r\n", 400, "invalid_host"),
    InvalidHead("GET / HTTP/1.1\r\nHost: [fe80::1%25eth0]\r\n\r\n", 400, "invalid_host"),
    InvalidHead("GET / HTTP/1.1\r\nHost: []\r\n\r\n", 400, "invalid_host"),
    InvalidHead("GET / HTTP/1.0\r\nHost: a b\r\n\r\n", 400, "invalid_host"),
    InvalidHead("GET http://user@a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_target"),
    InvalidHead("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_target"),
    InvalidHead("GET http://a:99999/x HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_target"),
    // Queries that cannot be decoded: named in a 400, never dropped.
    InvalidHead("GET /s?top_k=%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_query"),
    InvalidHead("GET /s?a=1&top_k=%4 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_query"),
    InvalidHead("GET /s?name=%C3%28 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_query"),
    InvalidHead("GET /s?name=%ff HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_query"),
    InvalidHead("GET /s?name=a%00b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_query"),
    InvalidHead("GET /s?%ff=1 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_query"),
    InvalidHead("GET http://a/s?q=%g0 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_query"),
    // Two credentials: which one would count?
    InvalidHead("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer x\r\nAuthorization: Bearer y\r\n\r\n", 400,
                "invalid_authorization"),
    InvalidHead("GET / HTTP/1.1\r\nHost: a\r\nauthorization: Bearer x\r\nAUTHORIZATION: Bearer x\r\n\r\n", 400,
                "invalid_authorization"),
]

/// Undecodable query parameters and the name the 400 gives as `error.field`.
let undecodableQueries: [(query: String, field: String)] = [
    ("top_k=%zz", "top_k"), ("a=1&model=%C3%28", "model"), ("caf%C3%A9=%ff", "café"), ("%ff=1", "%ff"),
    ("a+b=%0A", "a b"),
]

@Suite("HTTP request parser")
struct HTTPRequestParserTests {
    func check(_ result: HTTPRequestParser.Result, against row: ValidHead, headLength: Int) {
        guard case .complete(let head, let used) = result else {
            Issue.record("expected a complete head, got \(result)")
            return
        }
        #expect(used == headLength)
        #expect(head.method == row.method)
        #expect(head.path == row.path)
        #expect(head.pathSegments == row.segments)
        #expect(head.query == row.query)
        #expect(head.minorVersion == row.minorVersion)
        #expect(head.framing == row.framing)
        #expect(head.keepAlive == row.keepAlive)
        #expect(head.expectsContinue == row.expectsContinue)
        #expect(head.headers.count == row.headerCount)
    }

    @Test("valid heads parse whole, with what follows left unused", arguments: validHeads)
    func validWhole(_ row: ValidHead) {
        let bytes = Array((row.input + row.trailing).utf8)
        check(HTTPRequestParser.parse(bytes), against: row, headLength: row.input.utf8.count)
    }

    @Test("valid heads parse fed one byte at a time, needing more until the last byte", arguments: validHeads)
    func validByteByByte(_ row: ValidHead) {
        let bytes = Array(row.input.utf8)
        var parser = HTTPRequestParser()
        for end in 1...bytes.count {
            let result = bytes.withUnsafeBytes { parser.parse(UnsafeRawBufferPointer(rebasing: $0[0..<end])) }
            if end < bytes.count {
                #expect(result == .needMore, "prefix of \(end) bytes")
            } else {
                check(result, against: row, headLength: bytes.count)
            }
        }
    }

    @Test("every proper prefix of a valid head, parsed fresh, needs more", arguments: validHeads)
    func validPrefixes(_ row: ValidHead) {
        let bytes = Array(row.input.utf8)
        for end in 0..<bytes.count {
            #expect(HTTPRequestParser.parse(Array(bytes[0..<end])) == .needMore, "prefix of \(end) bytes")
        }
    }

    @Test("header names are case-insensitive; repeated headers are all kept in order")
    func headerLookup() throws {
        let input = Array("GET / HTTP/1.1\r\nHOST: a\r\nx-tag: one\r\nX-Tag: two\r\n\r\n".utf8)
        guard case .complete(let head, _) = HTTPRequestParser.parse(input) else {
            Issue.record("did not parse")
            return
        }
        #expect(head.headers["host"] == "a")
        #expect(head.headers["X-TAG"] == "one")
        #expect(head.headers.values(for: "x-tag") == ["one", "two"])
    }

    @Test("invalid heads are rejected with the right status, whole and byte by byte", arguments: invalidHeads)
    func invalid(_ row: InvalidHead) {
        let whole = HTTPRequestParser.parse(row.input, limits: row.limits)
        guard case .invalid(let error) = whole else {
            Issue.record("expected invalid, got \(whole)")
            return
        }
        #expect(error.status.code == row.status)
        #expect(error.code == row.code)
        var parser = HTTPRequestParser(limits: row.limits)
        var incremental: HTTPRequestParser.Result = .needMore
        for end in 1...row.input.count {
            incremental = row.input.withUnsafeBytes { parser.parse(UnsafeRawBufferPointer(rebasing: $0[0..<end])) }
            if incremental != .needMore { break }
        }
        #expect(incremental == whole)
    }

    @Test("an undecodable query parameter is a 400 that names it", arguments: undecodableQueries)
    func undecodableQueryNamesTheParameter(_ row: (query: String, field: String)) {
        let result = HTTPRequestParser.parse(Array("GET /s?\(row.query) HTTP/1.1\r\nHost: a\r\n\r\n".utf8))
        guard case .invalid(let error) = result else {
            Issue.record("expected invalid, got \(result)")
            return
        }
        #expect(error.code == "invalid_query" && error.field == row.field)
        #expect(error.message.contains("'\(row.field)'"))
        #expect(error.response.status.code == 400)
    }

    @Test("an oversized head is rejected as soon as it crosses the limit, not when it ends")
    func earlyLimit() {
        let limits = HTTPRequestParser.Limits(maxRequestLineLength: 64, maxHeaderBytes: 128, maxHeaderCount: 8)
        let endless = Array(("GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "v", count: 200)).utf8)
        guard case .invalid(let error) = HTTPRequestParser.parse(endless, limits: limits) else {
            Issue.record("an unterminated oversized head must be invalid")
            return
        }
        #expect(error.status.code == 431)
    }
}
