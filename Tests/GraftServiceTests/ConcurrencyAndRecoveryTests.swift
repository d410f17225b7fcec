// Claims under contention (threads and several stores on one file) and recovery after simulated crashes.
import Foundation
import Logging
import Testing
@testable import GraftService

@Suite struct ConcurrencyAndRecoveryTests {
    /// 9 threads over 3 stores (3 connection pools on one file) claim 120 jobs: each is claimed exactly once.
    @Test func claimIsAtomicAcrossThreadsAndStores() throws {
        let directory = try TemporaryDirectory()
        let stores = try (0..<3).map { _ in try TestSupport.makeStore(in: directory) }
        var submitted: Set<String> = []
        for index in 0..<120 {
            submitted.insert(try stores[index % 3].submitJob(JobSubmission(specJSON: "{\"n\":\(index)}")).job.id)
        }
        // job id → workers that claimed it, and errors, filled by the claiming threads
        final class Tally: @unchecked Sendable {
            let lock = NSLock()
            var claims: [String: [String]] = [:]
            var errors: [String] = []
            func record(_ body: (Tally) -> Void) { lock.lock(); body(self); lock.unlock() }
        }
        let tally = Tally()
        let group = DispatchGroup()
        for threadIndex in 0..<9 {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                let store = stores[threadIndex % 3]
                let workerID = "worker-\(threadIndex)"
                do {
                    while let job = try store.claimNextQueuedJob(workerID: workerID) {
                        tally.record { $0.claims[job.id, default: []].append(workerID) }
                        #expect(job.claimedBy == workerID && job.status == .running)
                    }
                } catch {
                    tally.record { $0.errors.append("\(error)") }
                }
            }
            thread.start()
        }
        group.wait()
        let (claims, errors) = (tally.claims, tally.errors)
        #expect(errors.isEmpty)
        #expect(Set(claims.keys) == submitted)
        #expect(claims.values.allSatisfy { $0.count == 1 }, "a job was claimed twice")
        let counts = try stores[0].jobCountsByStatus()
        #expect(counts[.running] == 120 && counts[.queued] == 0)
        // Every claim's owner is recorded in the database, as the claimer saw it.
        for (id, owners) in claims {
            #expect(try stores[1].job(id: id).claimedBy == owners.first)
        }
    }

    /// Three pools of two workers on one file run 12 jobs: each job's steps run exactly once.
    @Test func severalPoolsShareOneQueue() throws {
        let directory = try TemporaryDirectory()
        let runner = CountingRunner()
        let stores = try (0..<3).map { _ in try TestSupport.makeStore(in: directory) }
        var ids: [String] = []
        for index in 0..<12 {
            ids.append(try stores[0].submitJob(JobSubmission(specJSON: CountingRunner.spec(
                steps: 3 + index % 4, checkpointEvery: 2))).job.id)
        }
        let pools = stores.map { WorkerPoolTests.makePool(store: $0, runner: runner, directory: directory, workers: 2) }
        for pool in pools { try pool.start() }
        for pool in pools { try pool.waitUntilIdle() }
        for pool in pools { pool.stop() }
        for (index, id) in ids.enumerated() {
            let job = try stores[2].job(id: id)
            #expect(job.status == .succeeded && job.attempt == 1)
            #expect(runner.executedSteps(of: id) == Array(1...(3 + index % 4)))
        }
    }

    /// A process dies with a job running (its store is simply abandoned); a second store on the same file
    /// requeues the job, and a pool resumes it from the dead run's checkpoint.
    @Test func crashedRunResumesFromItsCheckpoint() throws {
        let directory = try TemporaryDirectory()
        let checkpoints = directory.path("checkpoints")
        let id: String
        do {
            let crashed = try TestSupport.makeStore(in: directory)
            id = try crashed.submitJob(JobSubmission(specJSON: CountingRunner.spec(steps: 9, checkpointEvery: 3))).job.id
            let deadWorker = "\(ProcessInfo.processInfo.hostName):\(try Self.exitedProcessID()):dead/0"
            _ = try #require(try crashed.claimNextQueuedJob(workerID: deadWorker))
            // What the dead run had done: 4 steps reported, checkpoint at step 3.
            try crashed.recordProgress(jobID: id, workerID: deadWorker,
                                       progress: JobProgress(epoch: 1, totalEpochs: 3, step: 4, totalSteps: 9))
            try CountingRunner.saveCheckpoint(count: 3, in: checkpoints.appendingPathComponent(id))
        }
        let store = try TestSupport.makeStore(in: directory)
        let runner = CountingRunner()
        let pool = WorkerPoolTests.makePool(store: store, runner: runner, directory: directory)
        // The heartbeat is fresh, but the owning process is gone: start-up recovery requeues at once.
        let recovered = try pool.recoverAbandonedJobs()
        #expect(recovered.map(\.jobID) == [id] && recovered.map(\.newStatus) == [.queued])
        #expect(recovered.first?.reason.contains("no longer running") == true)
        try pool.start()
        try pool.waitUntilIdle()
        pool.stop()
        let job = try store.job(id: id)
        #expect(job.status == .succeeded && job.attempt == 2 && job.step == 9)
        #expect(runner.executedSteps(of: id) == [4, 5, 6, 7, 8, 9])
        let kinds = try store.events(jobID: id).map(\.kind)
        #expect(kinds == ["queued", "started", "requeued", "started", "resumed", "checkpoint", "checkpoint", "succeeded"])
        let values = try store.metrics(jobID: id).filter { $0.scope == .step }.map(\.value)
        #expect(values == [4, 5, 6, 7, 8, 9].map(Double.init))
    }

    /// A worker on another host (liveness unknown) is only judged dead once its heartbeat is stale.
    @Test func remoteWorkerIsRecoveredOnlyWhenItsHeartbeatIsStale() throws {
        let directory = try TemporaryDirectory()
        let store = try TestSupport.makeStore(in: directory)
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let id = try store.submitJob(JobSubmission(specJSON: "{}"), now: start).job.id
        _ = try store.claimNextQueuedJob(workerID: "elsewhere:42:abc/0", now: start)
        // It trained a step before going silent (a silent attempt that never trained is quarantined, below).
        try store.recordProgress(jobID: id, workerID: "elsewhere:42:abc/0",
                                 progress: JobProgress(epoch: 1, totalEpochs: 2, step: 1, totalSteps: 4), now: start)
        try store.heartbeat(jobID: id, workerID: "elsewhere:42:abc/0", now: start.addingTimeInterval(30))
        let alive = { (worker: String) in WorkerIdentity.isProcessAlive(workerID: worker) }
        #expect(try store.recoverAbandonedJobs(staleBefore: start.addingTimeInterval(29), maxAttempts: 3,
                                               isOwnerAlive: alive).isEmpty)
        let recovered = try store.recoverAbandonedJobs(staleBefore: start.addingTimeInterval(31), maxAttempts: 3,
                                                       isOwnerAlive: alive)
        #expect(recovered.map(\.newStatus) == [.queued])
        #expect(recovered.first?.reason.contains("stopped sending heartbeats") == true)
    }

    /// A job whose worker keeps dying (each time after finishing a new epoch) is failed, with a reason, after
    /// `maxAttempts` claims; an abandoned job that was being cancelled is cancelled.
    @Test func repeatedCrashesFailTheJobAndAbandonedCancellationsComplete() throws {
        let directory = try TemporaryDirectory()
        let store = try TestSupport.makeStore(in: directory)
        let later = Date().addingTimeInterval(3600)
        let id = try store.submitJob(JobSubmission(specJSON: "{}")).job.id
        for attempt in 1...3 {
            let claimed = try #require(try store.claimNextQueuedJob(workerID: "w\(attempt)"))
            #expect(claimed.attempt == attempt)
            try store.recordProgress(jobID: id, workerID: "w\(attempt)", progress: JobProgress(
                epoch: attempt, totalEpochs: 9, step: attempt * 10, totalSteps: 90))
            let outcome = try store.recoverAbandonedJobs(staleBefore: later, maxAttempts: 3)
            #expect(outcome.map(\.newStatus) == [attempt < 3 ? .queued : .failed])
        }
        let failed = try store.job(id: id)
        #expect(failed.status == .failed && failed.finishedAt != nil)
        #expect(failed.error?.contains("Failed after 3 attempts") == true)
        #expect(failed.error?.contains("smaller batch size") == true)

        let other = try store.submitJob(JobSubmission(specJSON: "{\"other\":true}")).job.id
        _ = try store.claimNextQueuedJob(workerID: "w9")
        _ = try store.requestCancellation(jobID: other)
        #expect(try store.recoverAbandonedJobs(staleBefore: later, maxAttempts: 3).map(\.newStatus) == [.cancelled])
        #expect(try store.job(id: other).status == .cancelled)
        #expect(try store.recoverAbandonedJobs(staleBefore: later, maxAttempts: 3).isEmpty)
    }

    @Test func workerIdentityLiveness() throws {
        let identity = WorkerIdentity.current()
        #expect(WorkerIdentity.isProcessAlive(workerID: identity.workerID(0)))
        let host = ProcessInfo.processInfo.hostName
        #expect(!WorkerIdentity.isProcessAlive(workerID: "\(host):\(try Self.exitedProcessID()):t/0"))
        #expect(WorkerIdentity.isProcessAlive(workerID: "another-host:1:t/0"), "other hosts are not judged")
        #expect(identity.workerID(0) != WorkerIdentity.current().workerID(0))
    }

    /// The pid of a process that has exited (and been reaped), standing in for a server killed with -9.
    static func exitedProcessID() throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }
}
