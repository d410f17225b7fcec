// Checks the one structured access-log line per request, with the request id the client saw.
import Foundation
import Logging
import Testing
@testable import HTTPServer

/// A log handler that keeps every record, for assertions.
final class RecordingLogHandler: LogHandler, @unchecked Sendable {
    struct Record {
        var level: Logger.Level
        var message: String
        var metadata: Logger.Metadata
    }

    private let lock = NSLock()
    private var stored: [Record] = []
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        lock.lock()
        stored.append(Record(level: event.level, message: event.message.description, metadata: event.metadata ?? [:]))
        lock.unlock()
    }

    var records: [Record] {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
}

@Suite("Access log")
struct AccessLogTests {
    @Test("one access-log line per request, with method, path, status, bytes, duration and request id")
    func accessLog() throws {
        let handler = RecordingLogHandler()
        let logger = Logger(label: "test.access") { _ in handler }
        let server = HTTPServer(configuration: TestServer.configuration(), router: TestServer.router(), logger: logger)
        try server.start()
        let client = try TestClient(port: server.port)
        try client.send("GET /jobs/5 HTTP/1.1\r\nHost: t\r\n\r\nGET /nowhere HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        let first = try client.readResponse()
        let second = try client.readResponse()
        #expect(client.isClosedByServer())
        server.shutdown(gracePeriod: 1)
        let lines = handler.records.filter { $0.message == "request" }
        #expect(lines.count == 2)
        guard lines.count == 2 else { return }
        #expect(lines[0].metadata["method"] == "GET")
        #expect(lines[0].metadata["path"] == "/jobs/5")
        #expect(lines[0].metadata["status"] == "200")
        #expect(lines[0].metadata["bytes"] == "5")
        #expect(lines[0].metadata["duration_ms"] != nil)
        #expect(lines[0].metadata["request_id"] == .string(first.header("X-Request-Id") ?? "?"))
        #expect(lines[1].metadata["status"] == "404")
        #expect(lines[1].metadata["request_id"] == .string(second.header("X-Request-Id") ?? "?"))
    }
}
