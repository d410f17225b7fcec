// The service over a real socket: submit with curl, follow Server-Sent Events until the job succeeds.
import Foundation
import HTTPServer
import Logging
import Testing
@testable import GraftService

@Suite struct LiveServiceTests {
    /// Runs curl with `arguments`; returns what it printed.
    static func curl(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["--silent", "--show-error", "--max-time", "120"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: output, as: UTF8.self)
    }

    @Test func jobOverHTTPStreamsEventsUntilItSucceeds() throws {
        let harness = try RouteHarness()
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        configuration.accessLogLevel = .trace
        var logger = Logger(label: "graft.http.test")
        logger.logLevel = .error
        let server = HTTPServer(configuration: configuration, router: harness.router, logger: logger)
        try server.start()
        defer { server.shutdown(gracePeriod: 1) }
        let base = "http://127.0.0.1:\(server.port)"

        // The runner ignores the hyperparameters; give it a counting spec through the store's spec column.
        let created = try Self.curl(["-X", "POST", "-H", "Content-Type: application/json", "-H", "Idempotency-Key: k1",
                                     "--data", #"{"hyperparameters": {"epochs": 2}}"#, base + "/jobs"])
        let job = try #require(try JSONSerialization.jsonObject(with: Data(created.utf8)) as? [String: Any])
        let id = try #require(job["id"] as? String)
        try harness.service.store.pool.write { db in
            try db.execute(sql: "UPDATE jobs SET spec_json = ? WHERE id = ?",
                           arguments: [CountingRunner.spec(steps: 4, checkpointEvery: 2), id])
        }
        try harness.service.start()
        defer { harness.service.shutdown() }
        harness.service.workers.notifyJobQueued()

        let stream = try Self.curl(["-N", base + "/jobs/\(id)/events"])
        let kinds = stream.split(separator: "\n").filter { $0.hasPrefix("event: ") }.map { $0.dropFirst(7) }
        #expect(kinds == ["queued", "started", "checkpoint", "checkpoint", "succeeded"])
        let ids = stream.split(separator: "\n").filter { $0.hasPrefix("id: ") }.compactMap { Int($0.dropFirst(4)) }
        #expect(ids == ids.sorted() && ids.count == 5)

        // Reconnecting after the third event replays only the rest.
        let resumed = try Self.curl(["-N", "-H", "Last-Event-ID: \(ids[2])", base + "/jobs/\(id)/events"])
        #expect(resumed.split(separator: "\n").filter { $0.hasPrefix("event: ") } == ["event: checkpoint",
                                                                                      "event: succeeded"])

        let shown = try Self.curl([base + "/jobs/\(id)"])
        let final = try #require(try JSONSerialization.jsonObject(with: Data(shown.utf8)) as? [String: Any])
        #expect(final["status"] as? String == "succeeded")
        let modelID = try #require(final["result_model_id"] as? String)
        #expect((final["latest_metrics"] as? [String: Double])?["count"] == 4)
        let model = try Self.curl([base + "/models/\(modelID)"])
        #expect(model.contains("\"kind\":\"fine_tuned\"") && model.contains("\"parent_model_id\":\"base-tiny\""))
        let status = try Self.curl(["-o", "/dev/null", "-w", "%{http_code}", "-X", "DELETE", base + "/jobs/\(id)"])
        #expect(status == "409")
    }
}

@Suite struct ConcurrentSubmissionTests {
    /// 16 clients at once, two idempotency keys: exactly two jobs, one 202 per key, every other answer a 200
    /// naming the same job; plus 8 unkeyed submissions that each make a job.
    @Test func concurrentSubmissionsOverHTTP() throws {
        let harness = try RouteHarness()
        var http = HTTPServerConfiguration()
        http.port = 0
        http.accessLogLevel = .trace
        let host = ServiceHost(service: harness.service, http: http, logger: ServiceTests.quietLogger())
        try host.server.start()
        defer { host.server.shutdown(gracePeriod: 1) }
        let url = "http://127.0.0.1:\(host.port)/jobs"
        let lock = NSLock()
        var answers: [(key: String?, status: String, id: String)] = []
        DispatchQueue.concurrentPerform(iterations: 24) { index in
            let key: String? = index < 16 ? (index % 2 == 0 ? "key-a" : "key-b") : nil
            var arguments = ["-X", "POST", "-H", "Content-Type: application/json", "-w", "\n%{http_code}",
                             "--data", #"{"hyperparameters": {"epochs": 2}}"#]
            if let key { arguments += ["-H", "Idempotency-Key: \(key)"] }
            let output = (try? LiveServiceTests.curl(arguments + [url])) ?? ""
            let lines = output.split(separator: "\n")
            let body = (try? JSONSerialization.jsonObject(with: Data((lines.first ?? "").utf8))) as? [String: Any]
            lock.lock()
            answers.append((key, String(lines.last ?? ""), body?["id"] as? String ?? ""))
            lock.unlock()
        }
        #expect(answers.count == 24 && answers.allSatisfy { !$0.id.isEmpty })
        for key in ["key-a", "key-b"] {
            let mine = answers.filter { $0.key == key }
            #expect(Set(mine.map(\.id)).count == 1, "\(key) made more than one job")
            #expect(mine.filter { $0.status == "202" }.count == 1 && mine.filter { $0.status == "200" }.count == 7)
        }
        let unkeyed = answers.filter { $0.key == nil }
        #expect(Set(unkeyed.map(\.id)).count == 8 && unkeyed.allSatisfy { $0.status == "202" })
        #expect(try harness.service.store.listJobs(limit: 100).count == 10)
    }
}

@Suite struct ServiceHostTests {
    @Test func hostServesAndStopsInOrder() throws {
        let harness = try RouteHarness()
        var http = HTTPServerConfiguration()
        http.port = 0
        http.accessLogLevel = .trace
        var logger = Logger(label: "graft.host.test")
        logger.logLevel = .error
        let host = ServiceHost(service: harness.service, http: http, logger: logger)
        try host.start()
        let health = try LiveServiceTests.curl(["http://127.0.0.1:\(host.port)/health"])
        #expect(health == #"{"status":"ok"}"#)
        let openAPI = try LiveServiceTests.curl(["http://127.0.0.1:\(host.port)/openapi.json"])
        #expect(openAPI.contains("\"openapi\":\"3.1.0\""))
        host.stop()
        #expect(host.service.workers.stopRequested)
        #expect(host.server.isStopping)
    }
}
