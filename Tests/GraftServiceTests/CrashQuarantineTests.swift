// Start-up recovery tells a process killed from outside from a job that crashes its worker: the first resumes, the
// second is quarantined after one crash instead of taking the service down again and again.
import Foundation
import Logging
import Testing
@testable import GraftService

@Suite struct CrashQuarantineTests {
    /// A worker name of this host whose process has exited, as a `kill -9` or a crash leaves it.
    static func deadWorker() throws -> String {
        "\(ProcessInfo.processInfo.hostName):\(try ConcurrencyAndRecoveryTests.exitedProcessID()):dead/0"
    }

    /// Died before its first step (where a job that exhausts memory dies): failed at once, never claimed again,
    /// its checkpoint folder removed.
    @Test func aJobWhoseProcessDiesBeforeItsFirstStepIsQuarantinedAfterOneCrash() throws {
        let directory = try TemporaryDirectory()
        let store = try TestSupport.makeStore(in: directory)
        let id = try store.submitJob(JobSubmission(specJSON: CountingRunner.spec(steps: 3, checkpointEvery: 1))).job.id
        let dead = try Self.deadWorker()
        _ = try #require(try store.claimNextQueuedJob(workerID: dead))
        let checkpoint = directory.path("checkpoints").appendingPathComponent(id)
        try CountingRunner.saveCheckpoint(count: 0, in: checkpoint)
        let runner = CountingRunner()
        let pool = WorkerPoolTests.makePool(store: store, runner: runner, directory: directory)

        let recovered = try pool.recoverAbandonedJobs()
        #expect(recovered.map(\.newStatus) == [.failed])
        let reason = recovered.first?.reason ?? ""
        #expect(reason.hasPrefix("Quarantined") && reason.contains("before its first training step"), "\(reason)")
        let job = try store.job(id: id)
        #expect(job.status == .failed && job.attempt == 1 && job.error?.contains("not retried") == true)
        #expect(!FileManager.default.fileExists(atPath: checkpoint.path))
        try pool.start()
        try pool.waitUntilIdle()
        pool.stop()
        #expect(runner.executedSteps(of: id).isEmpty, "a quarantined job is never run again")
        #expect(try store.events(jobID: id).map(\.kind) == ["queued", "started", "failed"])
    }

    /// Deaths after progress resume (a `kill -9` mid-training keeps working) as long as each attempt finished an
    /// epoch the previous one had not; dying twice in the same epoch is quarantined before `maxAttempts`.
    @Test func aJobThatDiesTwiceInTheSameEpochIsQuarantined() throws {
        let directory = try TemporaryDirectory()
        let store = try TestSupport.makeStore(in: directory)
        let id = try store.submitJob(JobSubmission(specJSON: "{}")).job.id
        let later = Date().addingTimeInterval(3600)
        for (attempt, epoch) in [(1, 1), (2, 2), (3, 2)] {
            _ = try #require(try store.claimNextQueuedJob(workerID: "w\(attempt)"))
            try store.recordProgress(jobID: id, workerID: "w\(attempt)", progress: JobProgress(
                epoch: epoch, totalEpochs: 9, step: epoch * 10, totalSteps: 90))
            let outcome = try store.recoverAbandonedJobs(staleBefore: later, maxAttempts: 9)
            #expect(outcome.map(\.newStatus) == [attempt < 3 ? .queued : .failed], "attempt \(attempt)")
            if attempt == 3 {
                #expect(outcome.first?.reason.contains("the second time in epoch 2") == true, "\(outcome)")
            }
        }
        let job = try store.job(id: id)
        #expect(job.status == .failed && job.uncleanEnds == 2 && job.lastUncleanEpoch == 2)
    }

    /// A process asked to stop and then killed (a supervisor's SIGKILL after its grace period) is not the job's
    /// fault, even before its first step: the job goes back to the queue and nothing counts towards quarantine.
    @Test func aProcessKilledAfterItWasAskedToStopIsNotBlamed() throws {
        let directory = try TemporaryDirectory()
        let store = try TestSupport.makeStore(in: directory)
        let id = try store.submitJob(JobSubmission(specJSON: "{}")).job.id
        let host = ProcessInfo.processInfo.hostName
        let deadIdentity = WorkerIdentity(host: host, processID: try ConcurrencyAndRecoveryTests.exitedProcessID(),
                                          token: "sigterm")
        _ = try #require(try store.claimNextQueuedJob(workerID: deadIdentity.workerID(0)))
        // What the dead process did on SIGTERM before it was killed.
        var configuration = WorkerPool.Configuration(checkpointRoot: directory.path("c"), modelOutputRoot: directory.path("m"))
        configuration.workerCount = 1
        WorkerPool(store: store, runner: CountingRunner(), configuration: configuration, identity: deadIdentity)
            .requestStop()
        #expect(try store.job(id: id).attemptStopRequested)

        let pool = WorkerPoolTests.makePool(store: store, runner: CountingRunner(), directory: directory)
        let recovered = try pool.recoverAbandonedJobs()
        #expect(recovered.map(\.newStatus) == [.queued])
        #expect(recovered.first?.reason.contains("after it was asked to shut down") == true, "\(recovered)")
        let job = try store.job(id: id)
        #expect(job.uncleanEnds == 0 && job.lastUncleanEpoch == nil)
        // The next claim starts a fresh attempt: no stop requested, no progress yet.
        let claimed = try #require(try store.claimNextQueuedJob(workerID: "next"))
        #expect(claimed.attempt == 2 && !claimed.attemptStopRequested && !claimed.attemptProgressed)
    }
}
