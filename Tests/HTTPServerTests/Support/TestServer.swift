// Starts a real HTTPServer on 127.0.0.1 (port 0) with short timeouts and a set of routes the tests exercise.
import Foundation
import HTTPServer
import Logging

/// Test routes and configuration. Each test starts its own server so tests can run in parallel.
enum TestServer {
    struct Teapot: HTTPResponseError {
        var status: HTTPStatus { .unprocessableContent }
        var code: String { "invalid_value" }
        var message: String { "learning rate must be positive" }
        var field: String? { "learning_rate" }
    }

    struct Opaque: Error {}

    static func configuration() -> HTTPServerConfiguration {
        var configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.maxRequestLineLength = 1024
        configuration.maxHeaderBytes = 8192
        configuration.maxHeaderCount = 20
        configuration.defaultMaxBodySize = 1 << 20
        configuration.inMemoryBodyLimit = 64 << 10
        configuration.headerTimeout = 0.5
        configuration.idleTimeout = 3
        configuration.bodyReadTimeout = 1
        configuration.lingerTimeout = 0.2
        configuration.shutdownGracePeriod = 5
        // Off unless a test is about them: the cap tests count on a connection beyond the cap being refused.
        configuration.reservedConnections = 0
        return configuration
    }

    static func router() -> Router {
        let router = Router()
        router.get("/health") { _ in .text("ok") }
        router.get("/jobs/:id") { request in .text("job " + (try request.pathParameter("id"))) }
        router.delete("/jobs/:id") { request in .text("deleted " + (try request.pathParameter("id"))) }
        router.get("/jobs/new") { _ in .text("new job form") }
        router.get("/search") { request in
            .text(request.queryParameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ";"))
        }
        router.post("/echo") { request in
            var response = Response.bytes(Array(try request.body.data()), contentType: "application/octet-stream")
            response.headers.add(name: "X-Body-Storage", value: request.body.fileURL == nil ? "memory" : "file")
            response.headers.add(name: "X-Trailers", value: request.trailers.map { "\($0.name)=\($0.value)" }.joined(separator: ","))
            return response
        }
        router.post("/upload", maxBodySize: 256 << 20) { request in
            // Reads the spooled file in pieces and answers its size and FNV-1a hash.
            guard let url = request.body.fileURL else { return .text("memory \(request.body.count)") }
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            var size = 0
            while let piece = try handle.read(upToCount: 1 << 20), !piece.isEmpty {
                for byte in piece { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
                size += piece.count
            }
            return .text("file \(size) \(String(hash, radix: 16)) \(url.path)")
        }
        router.get("/chunked") { _ in
            .stream(contentType: "text/plain") { writer in
                for piece in ["alpha ", "beta ", "gamma"] { try writer.write(piece) }
            }
        }
        router.get("/events") { _ in
            .serverSentEvents { events in
                for index in 1...3 { try events.send(data: "tick \(index)\nline two", event: "progress", id: "\(index)") }
            }
        }
        router.get("/teapot") { _ in throw Teapot() }
        router.get("/opaque") { _ in throw Opaque() }
        return router
    }

    /// A started server; the caller shuts it down.
    static func start(_ adjust: (inout HTTPServerConfiguration) -> Void = { _ in }, router: Router = router()) throws -> HTTPServer {
        var configuration = configuration()
        adjust(&configuration)
        var logger = Logger(label: "test.http")
        logger.logLevel = .critical
        let server = HTTPServer(configuration: configuration, router: router, logger: logger)
        try server.start()
        return server
    }
}
