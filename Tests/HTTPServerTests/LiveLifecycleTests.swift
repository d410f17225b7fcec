// Live-socket tests of timeouts, the connection cap and graceful shutdown.
import Foundation
import Testing
@testable import HTTPServer
#if canImport(Glibc)
import Glibc
#endif

@Suite("Live server: timeouts, limits and shutdown")
struct LiveLifecycleTests {
    @Test("slowloris: a head that never finishes gets 408 and is closed at the header timeout")
    func slowloris() throws {
        let server = try TestServer.start { $0.headerTimeout = 0.3 }
        defer { server.shutdown(gracePeriod: 1) }
        let client = try TestClient(port: server.port)
        try client.send("GET /health HTTP/1.1\r\nHost: t\r\n")
        // Trickle header bytes; each arrives before any per-read timeout would fire, but the head never ends.
        for _ in 0..<3 {
            Thread.sleep(forTimeInterval: 0.05)
            try? client.send("X: y\r\n")
        }
        let response = try client.readResponse()
        #expect(response.status == 408)
        #expect(client.isClosedByServer())
    }

    @Test("an idle keep-alive connection is closed silently after the idle timeout")
    func idleTimeout() throws {
        let server = try TestServer.start { $0.idleTimeout = 0.3 }
        defer { server.shutdown(gracePeriod: 1) }
        let client = try TestClient(port: server.port)
        try client.send("GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try client.readResponse().status == 200)
        #expect(client.isClosedByServer(timeout: 3))
    }

    @Test("a body that stalls gets 408 after the body read timeout")
    func bodyStall() throws {
        let server = try TestServer.start { $0.bodyReadTimeout = 0.3 }
        defer { server.shutdown(gracePeriod: 1) }
        let client = try TestClient(port: server.port)
        try client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
        #expect(try client.readResponse().status == 408)
        #expect(client.isClosedByServer())
    }

    @Test("beyond the connection cap a new connection gets a fast 503; below it again, service resumes")
    func connectionCap() throws {
        let server = try TestServer.start { $0.maxConnections = 2 }
        defer { server.shutdown(gracePeriod: 1) }
        var holders: [TestClient] = []
        for _ in 0..<2 {
            let client = try TestClient(port: server.port)
            try client.send("GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            holders.append(client)
        }
        let extra = try TestClient(port: server.port)
        let refused = try extra.readResponse()
        #expect(refused.status == 503)
        #expect(refused.header("Retry-After") == "1")
        holders.removeAll()
        for _ in 0..<500 where server.connectionCount > 0 { Thread.sleep(forTimeInterval: 0.02) }
        let later = try TestClient(port: server.port)
        try later.send("GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try later.readResponse().status == 200)
    }

    /// A client refused at the cap has usually sent its request already and may still be sending its body. Closing
    /// the socket with that input unread would answer with a reset: the client's send fails (EPIPE) and it never
    /// reads the 503. The refused socket is drained off the accept thread instead, then closed.
    @Test("a refused client still sending its body reads the 503, and the drained socket is closed")
    func refusalSurvivesLateRequestBytes() throws {
        let server = try TestServer.start {
            $0.maxConnections = 1
            $0.lingerTimeout = 2
        }
        defer { server.shutdown(gracePeriod: 1) }
        let holder = try TestClient(port: server.port)
        try holder.send("GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try holder.readResponse().status == 200)
        for _ in 0..<2 {
            let extra = try TestClient(port: server.port)
            try extra.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 16777216\r\n\r\n")
            Thread.sleep(forTimeInterval: 0.1)  // the server has answered and shut its side by now
            try extra.send([UInt8](repeating: 0x61, count: 16 << 20))  // far more than socket buffers hold
            let refused = try extra.readResponse()
            #expect(refused.status == 503)
            #expect(refused.text.contains("connection limit"))
            #expect(extra.isClosedByServer())
        }
        for _ in 0..<200 where server.lingeringCount > 0 { Thread.sleep(forTimeInterval: 0.01) }
        #expect(server.lingeringCount == 0, "a socket whose client hung up is closed at once")
    }

    @Test("graceful shutdown: the request in flight finishes, idle connections close, new ones are refused")
    func gracefulShutdown() throws {
        let started = Locked(false)
        let router = TestServer.router()
        router.get("/in-flight") { _ in
            started.set(true)
            Thread.sleep(forTimeInterval: 0.5)
            return .text("finished")
        }
        let server = try TestServer.start(router: router)
        let idle = try TestClient(port: server.port)
        try idle.send("GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(try idle.readResponse().status == 200)
        let busy = try TestClient(port: server.port)
        try busy.send("GET /in-flight HTTP/1.1\r\nHost: t\r\n\r\n")
        for _ in 0..<500 where !started.value { Thread.sleep(forTimeInterval: 0.01) }  // the handler is running
        let stopper = Thread { server.shutdown(gracePeriod: 5) }
        stopper.start()
        let response = try busy.readResponse()
        #expect(response.status == 200 && response.text == "finished")
        #expect(response.header("Connection") == "close")
        #expect(busy.isClosedByServer())
        #expect(idle.isClosedByServer())
        server.waitUntilStopped()
        #expect(server.connectionCount == 0)
        #expect(throws: (any Error).self) { _ = try TestClient(port: server.port) }
    }

    @Test("shutdown past its deadline closes a request that is still running")
    func shutdownDeadline() throws {
        let router = TestServer.router()
        router.get("/stuck") { _ in
            Thread.sleep(forTimeInterval: 1.5)
            return .text("too late")
        }
        let server = try TestServer.start(router: router)
        let client = try TestClient(port: server.port)
        try client.send("GET /stuck HTTP/1.1\r\nHost: t\r\n\r\n")
        for _ in 0..<500 where server.connectionCount == 0 { Thread.sleep(forTimeInterval: 0.01) }
        server.shutdown(gracePeriod: 0.2)
        // The socket was shut down under the handler: the client sees the connection end without a response.
        #expect(throws: (any Error).self) { _ = try client.readResponse() }
    }

    @Test("SIGTERM triggers the graceful shutdown")
    func terminationSignal() throws {
        let server = try TestServer.start()
        server.stopOnTerminationSignals(gracePeriod: 1)
        kill(getpid(), SIGTERM)
        let done = Locked(false)
        Thread {
            server.waitUntilStopped()
            done.set(true)
        }.start()
        for _ in 0..<250 where !done.value { Thread.sleep(forTimeInterval: 0.02) }
        #expect(done.value)
        #expect(server.isStopping)
    }
}
