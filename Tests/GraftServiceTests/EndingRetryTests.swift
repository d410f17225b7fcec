// A job whose ending the database refuses (disk full, busy) keeps a live heartbeat and is ended by the recovery
// loop once the database takes writes again: never "running" for good, and every cancellation ends.
import Foundation
import GRDB
import Logging
import Testing
@testable import GraftService

@Suite struct EndingRetryTests {
    /// Makes the real database refuse every job ending (a trigger raising SQLite's "disk is full" message) while
    /// `refuse_endings` has a row; other writes (progress, heartbeats, cancellation requests) still work.
    static func installRefusal(_ store: Store) throws {
        try store.pool.write { db in
            try db.execute(sql: """
                CREATE TABLE refuse_endings (on_purpose INTEGER);
                INSERT INTO refuse_endings VALUES (1);
                CREATE TRIGGER refuse_job_endings BEFORE UPDATE OF status ON jobs
                WHEN NEW.status IN ('succeeded', 'failed', 'cancelled') AND EXISTS (SELECT 1 FROM refuse_endings)
                BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;
                """)
        }
    }

    static func allowEndings(_ store: Store) throws {
        try store.pool.write { db in try db.execute(sql: "DELETE FROM refuse_endings") }
    }

    static func makePool(_ store: Store, _ runner: CountingRunner, _ directory: TemporaryDirectory) -> WorkerPool {
        var configuration = WorkerPool.Configuration(checkpointRoot: directory.path("checkpoints"),
                                                     modelOutputRoot: directory.path("models"))
        configuration.pollInterval = 0.02
        configuration.heartbeatInterval = 0.02
        configuration.recoveryInterval = 0.02
        var logger = Logger(label: "graft.workers.test")
        logger.logLevel = .critical
        return WorkerPool(store: store, runner: runner, configuration: configuration, logger: logger)
    }

    /// Polls `condition` up to `rounds` times, 5 ms apart; false when it never held.
    static func eventually(_ rounds: Int = 4000, _ condition: () throws -> Bool) rethrows -> Bool {
        for _ in 0..<rounds {
            if try condition() { return true }
            usleep(5000)
        }
        return false
    }

    /// While the ending is refused the job stays `expected` with a heartbeat that keeps moving; once the store
    /// takes writes the recovery loop records the ending.
    static func expectPendingThenEnded(_ store: Store, _ pool: WorkerPool, job id: String, while expected: JobStatus,
                                       then ended: JobStatus) throws {
        #expect(try Self.eventually { pool.pendingEndingCount == 1 }, "the refused ending is kept for retrying")
        #expect(try store.job(id: id).status == expected)
        let before = try #require(try store.job(id: id).heartbeatAt)
        #expect(try Self.eventually { (try store.job(id: id).heartbeatAt ?? .distantPast) > before },
                "the job's heartbeat stays live while its ending is pending")
        #expect(try store.job(id: id).status == expected, "still refused, still not ended")
        try Self.allowEndings(store)
        #expect(try Self.eventually { try store.job(id: id).status == ended }, "the recovery loop ends the job")
        #expect(pool.pendingEndingCount == 0)
    }

    @Test func aFailureThatCannotBeRecordedIsRetriedUntilItIs() throws {
        let directory = try TemporaryDirectory()
        let store = try TestSupport.makeStore(in: directory)
        try Self.installRefusal(store)
        let runner = CountingRunner()
        let pool = Self.makePool(store, runner, directory)
        let id = try store.submitJob(JobSubmission(specJSON: CountingRunner.spec(steps: 5, checkpointEvery: 1,
                                                                                failAtStep: 2))).job.id
        try pool.start()
        defer { pool.stop() }
        try Self.expectPendingThenEnded(store, pool, job: id, while: .running, then: .failed)
        let job = try store.job(id: id)
        #expect(job.error?.contains("refused step 2") == true && job.finishedAt != nil)
        #expect(runner.executedSteps(of: id) == [1], "the job was not run again meanwhile")
    }

    @Test func aSuccessThatCannotBeRecordedIsRetriedAndKeepsItsModel() throws {
        let directory = try TemporaryDirectory()
        let store = try TestSupport.makeStore(in: directory)
        try Self.installRefusal(store)
        let pool = Self.makePool(store, CountingRunner(), directory)
        let id = try store.submitJob(JobSubmission(specJSON: CountingRunner.spec(steps: 3, checkpointEvery: 1))).job.id
        try pool.start()
        defer { pool.stop() }
        try Self.expectPendingThenEnded(store, pool, job: id, while: .running, then: .succeeded)
        let modelID = try #require(try store.job(id: id).resultModelID)
        let model = try store.model(id: modelID)
        #expect(FileManager.default.fileExists(atPath: URL(fileURLWithPath: model.path)
            .appendingPathComponent("weights.txt").path))
    }

    @Test func aCancellationThatCannotBeRecordedStillEnds() throws {
        let directory = try TemporaryDirectory()
        let store = try TestSupport.makeStore(in: directory)
        try Self.installRefusal(store)
        let runner = CountingRunner()
        let reached = DispatchSemaphore(value: 0), proceed = DispatchSemaphore(value: 0)
        runner.beforeStep = { _, step in
            if step == 2 { reached.signal(); _ = proceed.wait(timeout: .now() + 120) }
        }
        let pool = Self.makePool(store, runner, directory)
        let id = try store.submitJob(JobSubmission(specJSON: CountingRunner.spec(steps: 50, checkpointEvery: 1))).job.id
        try pool.start()
        defer { pool.stop() }
        guard waitOrRecord(reached, "step 2") else { return }
        #expect(try store.requestCancellation(jobID: id).status == .cancelling)
        proceed.signal()
        try Self.expectPendingThenEnded(store, pool, job: id, while: .cancelling, then: .cancelled)
        #expect(Self.eventually { !FileManager.default.fileExists(atPath: directory.path("checkpoints/\(id)").path) })
    }
}
