// Live-socket tests of connection fairness: the body rate floor, the per-client cap, the health-check reserve,
// and admission before the body is read.
import Foundation
import Testing
@testable import HTTPServer
#if canImport(Glibc)
import Glibc
#endif

@Suite("Live server: fairness between clients")
struct LiveFairnessTests {
    /// Sends `piece` every `interval` seconds until `stop` is set or a send fails (the server closed).
    static func trickle(_ client: TestClient, _ piece: String, every interval: Double, until stop: Locked<Bool>) {
        let thread = Thread {
            for _ in 0..<2000 where !stop.value {
                guard (try? client.send(piece)) != nil else { return }
                Thread.sleep(forTimeInterval: interval)
            }
        }
        thread.start()
    }

    /// Each pause is far below the body read timeout, so only the average-rate floor can end these bodies.
    @Test("a body trickled below the rate floor is cut off with 408 once the grace period is over",
          arguments: ["Content-Length: 100000\r\n", "Transfer-Encoding: chunked\r\n"])
    func tricklingBody(_ framing: String) throws {
        let server = try TestServer.start {
            $0.bodyReadTimeout = 30
            $0.minimumBodyBytesPerSecond = 4096
            $0.bodyRateGracePeriod = 0.3
        }
        defer { server.shutdown(gracePeriod: 1) }
        let client = try TestClient(port: server.port)
        try client.send("POST /echo HTTP/1.1\r\nHost: t\r\n\(framing)\r\n")
        let stop = Locked(false)
        defer { stop.set(true) }
        // 8 bytes per 20 ms is at most 400 B/s, a tenth of the floor; a chunk line is 8 bytes too ("3\r\nabc\r\n").
        Self.trickle(client, framing.hasPrefix("Content") ? "abcdefgh" : "3\r\nabc\r\n", every: 0.02, until: stop)
        let response = try client.readResponse()
        stop.set(true)
        #expect(response.status == 408)
        #expect(response.text.contains("body_too_slow") && response.text.contains("KiB/s"), "\(response.text)")
        #expect(client.isClosedByServer())
    }

    @Test("a body that keeps above the floor is read whole, however long it takes")
    func bodyAboveTheFloor() throws {
        let server = try TestServer.start {
            $0.minimumBodyBytesPerSecond = 1024
            $0.bodyRateGracePeriod = 0.1
        }
        defer { server.shutdown(gracePeriod: 1) }
        let client = try TestClient(port: server.port)
        let pieces = 40, piece = [UInt8](repeating: 0x62, count: 8192)
        try client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: \(pieces * piece.count)\r\n\r\n")
        // 8 KiB per 10 ms sleep: even a machine slowed tenfold stays far above 1 KiB/s.
        for _ in 0..<pieces {
            try client.send(piece)
            Thread.sleep(forTimeInterval: 0.01)
        }
        let response = try client.readResponse()
        #expect(response.status == 200 && response.body.count == pieces * piece.count)
    }

    @Test("a client at its connection cap gets 503 while another address is served; below it again, it is served")
    func perClientCap() throws {
        let server = try TestServer.start {
            $0.maxConnectionsPerClient = 2
            $0.idleTimeout = 60  // the held connections must outlive the test
        }
        defer { server.shutdown(gracePeriod: 1) }
        var held: [TestClient] = []
        for _ in 0..<2 {
            let client = try TestClient(port: server.port, source: "127.0.0.1")
            try client.send("GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            held.append(client)
        }
        for _ in 0..<3 {
            let extra = try TestClient(port: server.port, source: "127.0.0.1")
            let refused = try extra.readResponse()
            #expect(refused.status == 503)
            #expect(refused.text.contains("too_many_client_connections"), "\(refused.text)")
            #expect(refused.header("Retry-After") == "1")
        }
        // Other addresses are other clients: each still gets its own two connections.
        for source in ["127.0.0.2", "127.0.0.3"] {
            let others = try (0..<2).map { _ in try TestClient(port: server.port, source: source) }
            for other in others {
                try other.send("GET /jobs/7 HTTP/1.1\r\nHost: t\r\n\r\n")
                #expect(try other.readResponse().text == "job 7")
            }
        }
        held.removeFirst()
        for _ in 0..<500 where server.connectionCount > 1 { Thread.sleep(forTimeInterval: 0.01) }
        let again = try TestClient(port: server.port, source: "127.0.0.1")
        try again.send("GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try again.readResponse().status == 200)
    }

    @Test("IPv4 clients are counted by address, IPv6 ones by /64, IPv4-mapped ones as IPv4")
    func clientKeys() {
        func key(_ text: String) -> String {
            var storage = sockaddr_storage()
            withUnsafeMutablePointer(to: &storage) { pointer in
                if text.contains(":") {
                    pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                        $0.pointee.sin6_family = sa_family_t(AF_INET6)
                        $0.pointee.sin6_port = UInt16(4321).bigEndian
                        _ = inet_pton(AF_INET6, text, &$0.pointee.sin6_addr)
                    }
                } else {
                    pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                        $0.pointee.sin_family = sa_family_t(AF_INET)
                        _ = inet_pton(AF_INET, text, &$0.pointee.sin_addr)
                    }
                }
            }
            return POSIX.clientKey(storage)
        }
        #expect(key("192.0.2.9") == "192.0.2.9")
        #expect(key("::ffff:192.0.2.9") == "192.0.2.9")
        #expect(key("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == "2001:db8:1:2::/64")
        #expect(key("2001:db8:1:2::1") == key("2001:db8:1:2:ffff::9"))
        #expect(key("2001:db8:1:3::1") != key("2001:db8:1:2::1"))
    }
}

extension LiveFairnessTests {
    @Test("with the general pool full, /health is still answered from the reserve, and only /health")
    func healthWhilePoolIsFull() throws {
        let server = try TestServer.start {
            $0.maxConnections = 2
            $0.reservedConnections = 1
            $0.idleTimeout = 60  // the held connections must outlive the test
        }
        defer { server.shutdown(gracePeriod: 1) }
        var held: [TestClient] = []
        for _ in 0..<2 {
            let client = try TestClient(port: server.port)
            try client.send("GET /jobs/1 HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            held.append(client)
        }
        for _ in 0..<3 {
            let probe = try TestClient(port: server.port)
            try probe.send("GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
            let response = try probe.readResponse()
            #expect(response.status == 200 && response.text == "ok")
            #expect(response.header("Connection") == "close", "a reserve slot serves one request")
            #expect(probe.isClosedByServer())
            for _ in 0..<500 where server.reservedConnectionCount > 0 { Thread.sleep(forTimeInterval: 0.01) }
        }
        for request in ["GET /jobs/2 HTTP/1.1\r\nHost: t\r\n\r\n",
                        "POST /health HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"] {
            let other = try TestClient(port: server.port)
            try other.send(request)
            let refused = try other.readResponse()
            #expect(refused.status == 503)
            #expect(refused.text.contains("/health"), "the 503 says what is still answered: \(refused.text)")
            #expect(other.isClosedByServer())
            for _ in 0..<500 where server.reservedConnectionCount > 0 { Thread.sleep(forTimeInterval: 0.01) }
        }
        // A client that takes the reserve and sends nothing loses it at the header timeout (not the idle one).
        let squatter = try TestClient(port: server.port)
        for _ in 0..<500 where server.reservedConnectionCount == 0 { Thread.sleep(forTimeInterval: 0.01) }
        let beyond = try TestClient(port: server.port)
        #expect(try beyond.readResponse().status == 503, "pool and reserve full: refused at once")
        #expect(try squatter.readResponse().status == 408)
        for _ in 0..<500 where server.reservedConnectionCount > 0 { Thread.sleep(forTimeInterval: 0.01) }
        let probe = try TestClient(port: server.port)
        try probe.send("HEAD /health HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try probe.readResponse(head: true).status == 200)
        #expect(server.connectionCount <= 3)
    }

    @Test("one client holds at most one reserve slot, so a flooding client cannot take the reserve from the probes")
    func reserveIsSharedBetweenClients() throws {
        let server = try TestServer.start {
            $0.maxConnections = 1
            $0.reservedConnections = 2
            $0.headerTimeout = 5  // the squatter must keep its slot while the test runs
            $0.idleTimeout = 60
        }
        defer { server.shutdown(gracePeriod: 1) }
        let holder = try TestClient(port: server.port, source: "127.0.0.1")
        try holder.send("GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try holder.readResponse().status == 200)
        let squatter = try TestClient(port: server.port, source: "127.0.0.1")
        for _ in 0..<500 where server.reservedConnectionCount == 0 { Thread.sleep(forTimeInterval: 0.01) }
        #expect(server.reservedConnectionCount == 1)
        for _ in 0..<3 {
            let again = try TestClient(port: server.port, source: "127.0.0.1")
            #expect(try again.readResponse().status == 503, "the same client gets no second reserve slot")
        }
        let probe = try TestClient(port: server.port, source: "127.0.0.2")
        try probe.send("GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try probe.readResponse().status == 200)
        _ = squatter
    }

    @Test("the router's admission check answers before the body is read: nothing spooled, no handler run")
    func admissionBeforeBody() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("graft-http-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let handled = Locked(false)
        let router = TestServer.router()
        router.post("/private", maxBodySize: 64 << 20) { request in
            handled.set(true)
            return .text("stored \(request.body.count)")
        }
        router.admission = { head, route in
            guard route.pattern == "/private", head.headers["Authorization"] != "Bearer let-me-in" else { return nil }
            return HTTPError(.unauthorized, code: "unauthorized", message: "send the token")
        }
        let server = try TestServer.start({
            $0.inMemoryBodyLimit = 1024
            $0.temporaryDirectory = directory
            $0.lingerTimeout = 2
        }, router: router)
        defer { server.shutdown(gracePeriod: 1) }
        let size = 8 << 20
        let client = try TestClient(port: server.port)
        try client.send("POST /private HTTP/1.1\r\nHost: t\r\nContent-Length: \(size)\r\n\r\n")
        try? client.send([UInt8](repeating: 0x61, count: size))  // the server may stop reading part-way
        let refused = try client.readResponse()
        #expect(refused.status == 401)
        #expect(client.isClosedByServer())
        #expect(!handled.value)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
        // With the token the same upload is read and handled; other routes are untouched by the check.
        let allowed = try TestClient(port: server.port)
        try allowed.send("POST /private HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer let-me-in\r\n"
            + "Content-Length: 5\r\n\r\nhello")
        #expect(try allowed.readResponse().text == "stored 5")
        try allowed.send("GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try allowed.readResponse().status == 200)
        // In process, the same check applies.
        let inProcess = router.respond(to: Request(method: .post, target: "/private", body: .bytes(Data("x".utf8))))
        #expect(inProcess.status.code == 401)
    }
}
