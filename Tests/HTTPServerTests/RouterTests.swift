// In-process tests of the router (patterns, parameters, 404/405, HEAD) and of the response helpers.
import Foundation
import Testing
@testable import HTTPServer

@Suite("Router and responses")
struct RouterTests {
    static func router() -> Router {
        let router = Router()
        router.get("/health") { _ in .text("health") }
        router.get("/jobs/:id") { request in .text("get \(request.pathParameters["id"] ?? "")") }
        router.delete("/jobs/:id") { _ in .text("delete") }
        router.get("/jobs/:id/metrics") { request in .text("metrics \(request.pathParameters["id"] ?? "")") }
        router.get("/jobs/latest") { _ in .text("latest") }
        router.get("/files/*path") { request in .text("file \(request.pathParameters["path"] ?? "")") }
        router.post("/datasets", maxBodySize: 1 << 30) { _ in .text("upload") }
        return router
    }

    struct RouteCase: CustomTestStringConvertible, Sendable {
        var method: HTTPMethod
        var path: String
        /// "found <body>", "404", or "405 <Allow>".
        var expected: String
        var testDescription: String { "\(method.rawValue) \(path)" }
    }

    static let cases: [RouteCase] = [
        RouteCase(method: .get, path: "/health", expected: "found health"),
        RouteCase(method: .head, path: "/health", expected: "found health"),
        RouteCase(method: .get, path: "/jobs/7", expected: "found get 7"),
        RouteCase(method: .delete, path: "/jobs/7", expected: "found delete"),
        RouteCase(method: .get, path: "/jobs/latest", expected: "found latest"),
        RouteCase(method: .get, path: "/jobs/7/metrics", expected: "found metrics 7"),
        RouteCase(method: .get, path: "/jobs/a%2Fb/metrics", expected: "found metrics a/b"),
        RouteCase(method: .get, path: "/files/a/b/c.txt", expected: "found file a/b/c.txt"),
        RouteCase(method: .get, path: "/files", expected: "found file "),
        RouteCase(method: .get, path: "/jobs", expected: "404"),
        RouteCase(method: .get, path: "/jobs/7/metrics/extra", expected: "404"),
        RouteCase(method: .get, path: "/jobs//metrics", expected: "404"),
        RouteCase(method: .get, path: "/healthz", expected: "404"),
        RouteCase(method: .get, path: "/", expected: "404"),
        RouteCase(method: .post, path: "/health", expected: "405 GET, HEAD"),
        RouteCase(method: .put, path: "/jobs/7", expected: "405 GET, HEAD, DELETE"),
        RouteCase(method: .get, path: "/datasets", expected: "405 POST"),
        RouteCase(method: .head, path: "/datasets", expected: "405 POST"),
    ]

    @Test("matching", arguments: cases)
    func matching(_ row: RouteCase) throws {
        switch Self.router().match(method: row.method, path: row.path) {
        case .found(let route, let parameters):
            let request = Request(method: row.method, target: row.path, pathParameters: parameters)
            let response = try route.handler(request)
            guard case .bytes(let body) = response.body else {
                Issue.record("expected bytes")
                return
            }
            #expect("found " + String(decoding: body, as: UTF8.self) == row.expected)
        case .notFound:
            #expect(row.expected == "404")
        case .methodNotAllowed(let allowed):
            #expect("405 " + allowed.map(\.rawValue).joined(separator: ", ") == row.expected)
        }
    }

    @Test("a route's body cap is kept with it")
    func bodyCap() {
        guard case .found(let route, _) = Self.router().match(method: .post, path: "/datasets") else {
            Issue.record("no route")
            return
        }
        #expect(route.maxBodySize == 1 << 30)
    }

    @Test("error bodies are the documented JSON shape, escaped")
    func errorRendering() throws {
        let error = HTTPError(.unprocessableContent, code: "invalid_value", message: "say \"hi\"\n\u{1}", field: "name")
        let response = error.response
        #expect(response.status.code == 422)
        #expect(response.headers["Content-Type"] == "application/json")
        guard case .bytes(let body) = response.body else {
            Issue.record("expected bytes")
            return
        }
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: [String: String]])
        #expect(json["error"] == ["code": "invalid_value", "message": "say \"hi\"\n\u{1}", "field": "name"])
        let noField = ErrorBody.render(code: "x", message: "y", field: nil)
        #expect(noField == #"{"error":{"code":"x","message":"y"}}"#)
    }

    @Test("HTTP dates match Foundation's formatter", arguments: [0, 784_111_777, 951_782_400, 1_700_000_000, 4_102_444_799])
    func httpDate(_ seconds: Int) {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let expected = formatter.string(from: Date(timeIntervalSince1970: Double(seconds)))
        #expect(ResponseEncoder.imfFixdate(epochSeconds: seconds) == expected)
    }

    @Test("Server-Sent Events wire format")
    func eventFormat() {
        #expect(EventStream.format(data: "a\nb", event: "progress", id: "7", retryMilliseconds: 500)
            == "event: progress\nid: 7\nretry: 500\ndata: a\ndata: b\n\n")
        #expect(EventStream.format(data: "", event: nil, id: nil, retryMilliseconds: nil) == "data: \n\n")
    }

    @Test("response heads never let a handler split the response with CR or LF")
    func headerInjection() {
        var encoder = ResponseEncoder()
        var bytes: [UInt8] = []
        encoder.appendHead(to: &bytes, status: .ok, headers: ["X-Evil": "a\r\nSet-Cookie: b"], contentLength: 0,
                           chunked: false, keepAlive: true, requestId: "r", minorVersion: 1)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("X-Evil: a  Set-Cookie: b\r\n"))
        #expect(!text.contains("\r\nSet-Cookie"))
    }

    @Test("query parameters decode + and percent escapes")
    func query() {
        let request = Request(method: .get, target: "/s?q=a+b%21&empty=&flag&x=1&x=2")
        #expect(request.queryParameters == ["q": "a b!", "empty": "", "flag": "", "x": "2"])
    }
}

@Suite("In-process routing")
struct InProcessTests {
    @Test("respond(to:) gives the same answers as the server, without sockets")
    func respond() throws {
        let router = TestServer.router()
        let ok = router.respond(to: Request(method: .get, target: "/jobs/9"))
        #expect(ok.status == .ok)
        #expect(String(decoding: try ok.collectBody(), as: UTF8.self) == "job 9")
        #expect(router.respond(to: Request(method: .get, target: "/none")).status.code == 404)
        let notAllowed = router.respond(to: Request(method: .post, target: "/health"))
        #expect(notAllowed.status.code == 405 && notAllowed.headers["Allow"] == "GET, HEAD")
        #expect(router.respond(to: Request(method: .get, target: "/teapot")).status.code == 422)
        #expect(router.respond(to: Request(method: .get, target: "/opaque")).status.code == 500)
        let big = Request(method: .post, target: "/echo", body: .bytes(Data(count: 2 << 20)))
        #expect(router.respond(to: big).status.code == 413)
        let badQuery = router.respond(to: Request(method: .get, target: "/search?q=%zz"))
        let badQueryText = String(decoding: try badQuery.collectBody(), as: UTF8.self)
        #expect(badQuery.status.code == 400 && badQueryText.contains(#""field":"q""#))
        let events = router.respond(to: Request(method: .get, target: "/events"))
        #expect(String(decoding: try events.collectBody(), as: UTF8.self).hasPrefix("event: progress\nid: 1\n"))
    }
}

@Suite("Request helpers")
struct RequestHelperTests {
    struct Body: Codable, Equatable {
        var learningRate: Double
        var baseModel: String
    }

    @Test("decodeJSON reads snake_case keys; bad JSON is a 400 invalid_json")
    func decodeJSON() throws {
        let body = RequestBody.bytes(Data(#"{"learning_rate": 0.01, "base_model": "tiny"}"#.utf8))
        #expect(try body.decodeJSON(Body.self) == Body(learningRate: 0.01, baseModel: "tiny"))
        #expect { try RequestBody.bytes(Data("{".utf8)).decodeJSON(Body.self) } throws: { error in
            (error as? HTTPError)?.code == "invalid_json" && (error as? HTTPError)?.status.code == 400
        }
    }

    @Test("requireContentType accepts parameters and case, refuses others with 415")
    func contentType() throws {
        let json = Request(method: .post, target: "/x", headers: ["Content-Type": "Application/JSON; charset=utf-8"])
        try json.requireContentType("application/json")
        let text = Request(method: .post, target: "/x", headers: ["Content-Type": "text/plain"])
        #expect { try text.requireContentType("application/json", "application/zip") } throws: { error in
            (error as? HTTPError)?.status.code == 415
        }
        #expect(throws: HTTPError.self) { try Request(method: .post, target: "/x").requireContentType("application/json") }
    }
}
