// Routes that keep large bodies in memory (`inMemoryBodySize`) do so only within the server's shared budget:
// beyond it, or when the size is not known up front, bodies spool to disk as on every other route.
import Foundation
import Testing
@testable import HTTPServer

@Suite struct BodyBudgetTests {
    /// A server whose `/tensor` route keeps bodies up to 8 MiB in memory, with room in the budget for one 2 MiB
    /// body at a time; the handler answers where its body was held, and waits while `hold` is set.
    static func server(holding hold: DispatchSemaphore, entered: DispatchSemaphore) throws -> HTTPServer {
        let router = Router()
        router.post("/tensor", maxBodySize: 8 << 20, inMemoryBodySize: 8 << 20) { request in
            if request.headers["X-Hold"] != nil {
                entered.signal()
                hold.wait()
            }
            return .text("\(request.body.fileURL == nil ? "memory" : "file") \(try request.body.data().count)")
        }
        return try TestServer.start({
            $0.inMemoryBodyLimit = 64 << 10
            $0.inMemoryBodyBudget = 3 << 20
        }, router: router)
    }

    static func post(_ port: Int, size: Int, chunked: Bool = false, hold: Bool = false) throws -> String {
        let client = try TestClient(port: port)
        let framing = chunked ? "Transfer-Encoding: chunked" : "Content-Length: \(size)"
        try client.send("POST /tensor HTTP/1.1\r\nHost: t\r\n\(framing)\r\n\(hold ? "X-Hold: 1\r\n" : "")\r\n")
        let body = [UInt8](repeating: 3, count: size)
        if chunked {
            try client.send(String(size, radix: 16) + "\r\n")
            try client.send(body)
            try client.send("\r\n0\r\n\r\n")
        } else {
            try client.send(body)
        }
        return try client.readResponse().text
    }

    @Test func largeBodiesStayInMemoryWhileTheBudgetLastsAndSpoolBeyondIt() throws {
        let hold = DispatchSemaphore(value: 0), entered = DispatchSemaphore(value: 0)
        let server = try Self.server(holding: hold, entered: entered)
        defer { server.shutdown(gracePeriod: 1) }
        // The connection returns its share just after sending the answer: wait (bounded) for that.
        func settled() -> Int {
            for _ in 0..<500 where server.bodyBudget.inUse != 0 { Thread.sleep(forTimeInterval: 0.01) }
            return server.bodyBudget.inUse
        }
        #expect(try Self.post(server.port, size: 2 << 20) == "memory \(2 << 20)")
        #expect(settled() == 0, "the budget is returned when the request ends")

        // One request holds 2 MiB of the 3 MiB budget while its handler waits: the next 2 MiB body spools.
        let held = Locked("")
        let thread = Thread {
            held.set((try? Self.post(server.port, size: 2 << 20, hold: true)) ?? "failed")
        }
        thread.start()
        #expect(entered.wait(timeout: .now() + 30) == .success)
        #expect(server.bodyBudget.inUse == 2 << 20)
        #expect(try Self.post(server.port, size: 2 << 20) == "file \(2 << 20)")
        hold.signal()
        for _ in 0..<1500 where held.value.isEmpty { Thread.sleep(forTimeInterval: 0.02) }
        #expect(held.value == "memory \(2 << 20)")
        #expect(settled() == 0)

        // A body of unknown size (chunked) cannot reserve up front, and one larger than the budget never fits.
        #expect(try Self.post(server.port, size: 2 << 20, chunked: true) == "file \(2 << 20)")
        #expect(try Self.post(server.port, size: 4 << 20) == "file \(4 << 20)")
        #expect(settled() == 0)
    }
}
