// Live-socket tests of connection behaviour: keep-alive, pipelining, chunked bodies, 100-continue, uploads, SSE.
import Foundation
import Testing
@testable import HTTPServer

@Suite("Live server: connection behaviour")
struct LiveBehaviourTests {
    @Test("port 0 binds a free port, reported after start")
    func portZero() throws {
        let first = try TestServer.start()
        defer { first.shutdown(gracePeriod: 1) }
        let second = try TestServer.start()
        defer { second.shutdown(gracePeriod: 1) }
        #expect(first.port > 0 && second.port > 0 && first.port != second.port)
    }

    /// Whether this machine has an IPv6 loopback (some containers have none).
    static let ipv6LoopbackAvailable: Bool = {
        let table = (try? String(contentsOfFile: "/proc/net/if_inet6", encoding: .utf8)) ?? ""
        return table.contains("00000000000000000000000000000001")
    }()

    @Test("IPv6: serving on ::1", .enabled(if: ipv6LoopbackAvailable))
    func ipv6() throws {
        let server = try TestServer.start { $0.host = "::1" }
        defer { server.shutdown(gracePeriod: 1) }
        let client = try TestClient(port: server.port, host: "::1")
        try client.send("GET /health HTTP/1.1\r\nHost: [::1]\r\n\r\n")
        #expect(try client.readResponse().text == "ok")
    }

    @Test("keep-alive: many requests on one connection, request ids differ")
    func keepAlive() throws {
        let server = try TestServer.start()
        defer { server.shutdown(gracePeriod: 1) }
        let client = try TestClient(port: server.port)
        var ids: Set<String> = []
        for index in 0..<20 {
            try client.send("GET /jobs/\(index) HTTP/1.1\r\nHost: t\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.text == "job \(index)")
            #expect(response.header("Connection") == nil)
            ids.insert(response.header("X-Request-Id") ?? "")
        }
        #expect(ids.count == 20)
        #expect(server.connectionCount == 1)
    }

    @Test("a client's X-Request-Id is echoed back")
    func requestIdEcho() throws {
        let server = try TestServer.start()
        defer { server.shutdown(gracePeriod: 1) }
        let client = try TestClient(port: server.port)
        try client.send("GET /health HTTP/1.1\r\nHost: t\r\nX-Request-Id: abc-123\r\n\r\n")
        #expect(try client.readResponse().header("X-Request-Id") == "abc-123")
    }

    @Test("pipelining: requests sent in one write are answered in order, bodies included")
    func pipelining() throws {
        let server = try TestServer.start()
        defer { server.shutdown(gracePeriod: 1) }
        let client = try TestClient(port: server.port)
        try client.send(
            "GET /jobs/1 HTTP/1.1\r\nHost: t\r\n\r\n"
                + "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"
                + "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
                + "HEAD /health HTTP/1.1\r\nHost: t\r\n\r\n"
                + "GET /jobs/2 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        #expect(try client.readResponse().text == "job 1")
        #expect(try client.readResponse().text == "hello")
        #expect(try client.readResponse().text == "abc")
        #expect(try client.readResponse(head: true).header("Content-Length") == "2")
        #expect(try client.readResponse().text == "job 2")
        #expect(client.isClosedByServer())
    }

    @Test("chunked request bodies with extensions and trailers; chunked responses")
    func chunkedInAndOut() throws {
        let server = try TestServer.start()
        defer { server.shutdown(gracePeriod: 1) }
        let client = try TestClient(port: server.port)
        try client.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;name=value\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Checksum: 42\r\n\r\n")
        let echoed = try client.readResponse()
        #expect(echoed.text == "hello 0123456789")
        #expect(echoed.header("X-Trailers") == "X-Checksum=42")
        try client.send("GET /chunked HTTP/1.1\r\nHost: t\r\n\r\n")
        let streamed = try client.readResponse()
        #expect(streamed.wasChunked)
        #expect(streamed.text == "alpha beta gamma")
        // HTTP/1.0 has no chunked coding: the stream is sent raw and ends with the connection.
        let old = try TestClient(port: server.port)
        try old.send("GET /chunked HTTP/1.0\r\n\r\n")
        let raw = try old.readResponse()
        #expect(!raw.wasChunked && raw.text == "alpha beta gamma")
    }

    @Test("a chunked body beyond the route cap gets 413 and the connection closes")
    func chunkedTooLarge() throws {
        let server = try TestServer.start { $0.defaultMaxBodySize = 100 }
        defer { server.shutdown(gracePeriod: 1) }
        let client = try TestClient(port: server.port)
        try client.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "40\r\n" + String(repeating: "x", count: 64) + "\r\n40\r\n" + String(repeating: "y", count: 64) + "\r\n")
        #expect(try client.readResponse().status == 413)
        #expect(client.isClosedByServer())
    }

    @Test("Expect: 100-continue gets 100 before the body, 413 instead when the body is too large")
    func expectContinue() throws {
        let server = try TestServer.start()
        defer { server.shutdown(gracePeriod: 1) }
        let client = try TestClient(port: server.port)
        try client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        let interim = try client.readResponse()
        #expect(interim.status == 100)
        try client.send("data")
        let final = try client.readResponse()
        #expect(final.status == 200 && final.text == "data")

        let refused = try TestClient(port: server.port)
        try refused.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000000\r\nExpect: 100-continue\r\n\r\n")
        #expect(try refused.readResponse().status == 413)
        #expect(refused.isClosedByServer())
    }

    @Test("an upload far beyond the in-memory limit streams to a temporary file, removed afterwards")
    func largeUpload() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("graft-http-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try TestServer.start {
            $0.inMemoryBodyLimit = 64 << 10
            $0.temporaryDirectory = directory
        }
        defer { server.shutdown(gracePeriod: 1) }
        let client = try TestClient(port: server.port)
        // 48 MiB of a deterministic pattern, sent in 1 MiB writes; the server holds at most its read buffer.
        let size = 48 << 20
        var piece = [UInt8](repeating: 0, count: 1 << 20)
        var expectedHash: UInt64 = 0xcbf2_9ce4_8422_2325
        try client.send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: \(size)\r\n\r\n")
        for block in 0..<(size >> 20) {
            for index in 0..<piece.count {
                piece[index] = UInt8(truncatingIfNeeded: (block &* 31) &+ index &* 7 &+ index >> 9)
                expectedHash = (expectedHash ^ UInt64(piece[index])) &* 0x100_0000_01b3
            }
            try client.send(piece)
        }
        let response = try client.readResponse()
        let words = response.text.split(separator: " ")
        #expect(words.count == 4 && words[0] == "file")
        #expect(words[1] == "\(size)")
        #expect(words[2] == Substring(String(expectedHash, radix: 16)))
        #expect(words.count == 4 && words[3].hasPrefix(directory.path))
        // The spooled file is gone once the handler returned.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    @Test("a client that disconnects mid-body leaves no temporary file and the server keeps serving")
    func disconnectMidBody() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("graft-http-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try TestServer.start {
            $0.inMemoryBodyLimit = 1024
            $0.temporaryDirectory = directory
        }
        defer { server.shutdown(gracePeriod: 1) }
        do {
            let client = try TestClient(port: server.port)
            try client.send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n")
            try client.send([UInt8](repeating: 7, count: 200_000))
        }
        // Wait (bounded) for the connection thread to notice the close.
        for _ in 0..<500 where server.connectionCount > 0 { Thread.sleep(forTimeInterval: 0.02) }
        #expect(server.connectionCount == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
        let next = try TestClient(port: server.port)
        try next.send("GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try next.readResponse().status == 200)
    }

    @Test("Server-Sent Events arrive as chunks in the event-stream format")
    func serverSentEvents() throws {
        let server = try TestServer.start()
        defer { server.shutdown(gracePeriod: 1) }
        let client = try TestClient(port: server.port)
        try client.send("GET /events HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.header("Content-Type") == "text/event-stream")
        #expect(response.header("Cache-Control") == "no-cache")
        let expected = (1...3).map { "event: progress\nid: \($0)\ndata: tick \($0)\ndata: line two\n\n" }.joined()
        #expect(response.text == expected)
    }

    @Test("an SSE stream sees the client leave and the server stop")
    func serverSentEventsEnd() throws {
        let observedGone = Locked(false)
        let router = TestServer.router()
        router.get("/forever") { _ in
            .serverSentEvents { events in
                var sent = 0
                while events.isClientConnected && !events.isServerStopping {
                    do { try events.send(data: "n \(sent)") } catch { break }
                    sent += 1
                    Thread.sleep(forTimeInterval: 0.01)
                }
                observedGone.set(true)
            }
        }
        let server = try TestServer.start(router: router)
        do {
            let client = try TestClient(port: server.port)
            try client.send("GET /forever HTTP/1.1\r\nHost: t\r\n\r\n")
            _ = try client.readResponse(head: true)  // the head only; the stream goes on
            #expect(String(decoding: try client.readChunk(), as: UTF8.self) == "data: n 0\n\n")
        }
        for _ in 0..<1000 where !observedGone.value { Thread.sleep(forTimeInterval: 0.01) }
        #expect(observedGone.value, "the stream must end once the client left")
        server.shutdown(gracePeriod: 1)
    }
}

extension LiveBehaviourTests {
    @Test("graceful shutdown lets an SSE stream end cleanly: the stream sees the stop and sends its last chunk")
    func serverSentEventsShutdown() throws {
        let router = TestServer.router()
        router.get("/until-stop") { _ in
            .serverSentEvents { events in
                try events.send(data: "first")
                while !events.isServerStopping { Thread.sleep(forTimeInterval: 0.01) }
                try events.send(data: "bye", event: "shutdown")
            }
        }
        let server = try TestServer.start(router: router)
        let client = try TestClient(port: server.port)
        try client.send("GET /until-stop HTTP/1.1\r\nHost: t\r\n\r\n")
        _ = try client.readResponse(head: true)
        #expect(String(decoding: try client.readChunk(), as: UTF8.self) == "data: first\n\n")
        let stopper = Thread { server.shutdown(gracePeriod: 5) }
        stopper.start()
        #expect(String(decoding: try client.readChunk(), as: UTF8.self) == "event: shutdown\ndata: bye\n\n")
        #expect(try client.readChunk().isEmpty, "the terminating zero-length chunk")
        #expect(client.isClosedByServer())
        server.waitUntilStopped()
    }
}

extension LiveBehaviourTests {
    @Test("file responses: Content-Length, the exact bytes, HEAD without body, a missing file is a 500")
    func fileDownload() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("graft-download-\(UUID().uuidString)")
        let content = (0..<700_000).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ $0 >> 8) }
        try Data(content).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let router = TestServer.router()
        router.get("/download") { _ in .file(url) }
        router.get("/missing") { _ in .file(url.appendingPathExtension("missing")) }
        let server = try TestServer.start(router: router)
        defer { server.shutdown(gracePeriod: 1) }
        let client = try TestClient(port: server.port)
        try client.send("GET /download HTTP/1.1\r\nHost: t\r\n\r\nHEAD /download HTTP/1.1\r\nHost: t\r\n\r\n"
            + "GET /missing HTTP/1.1\r\nHost: t\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.header("Content-Length") == "\(content.count)")
        #expect(response.body == content)
        let head = try client.readResponse(head: true)
        #expect(head.header("Content-Length") == "\(content.count)" && head.body.isEmpty)
        #expect(try client.readResponse().status == 500)
    }
}

/// A value behind a lock, for flags shared between a handler thread and the test.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value

    init(_ value: Value) { stored = value }

    var value: Value {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }

    func set(_ value: Value) {
        lock.lock()
        stored = value
        lock.unlock()
    }
}
