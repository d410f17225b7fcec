// The worker pool end to end with the counting runner on a real SQLite file: success, failure,
// cancellation, graceful stop and resume, and a worker that lost its lease.
import Foundation
import NeuralNetwork
import Logging
import Testing
@testable import GraftService

@Suite struct WorkerPoolTests {
    static func makePool(store: Store, runner: JobRunner, directory: TemporaryDirectory,
                         workers: Int = 1) -> WorkerPool {
        var configuration = WorkerPool.Configuration(checkpointRoot: directory.path("checkpoints"),
                                                     modelOutputRoot: directory.path("models"))
        configuration.workerCount = workers
        configuration.pollInterval = 0.05
        configuration.heartbeatInterval = 0.05
        var logger = Logger(label: "graft.workers.test")
        logger.logLevel = .error
        return WorkerPool(store: store, runner: runner, configuration: configuration, logger: logger)
    }

    @Test func runsQueuedJobsToSuccessAndRegistersTheirModels() throws {
        let directory = try TemporaryDirectory()
        let store = try TestSupport.makeStore(in: directory)
        let runner = CountingRunner()
        var ids: [String] = []
        for steps in [3, 5, 7, 4] {
            ids.append(try store.submitJob(JobSubmission(specJSON: CountingRunner.spec(steps: steps,
                                                                                      checkpointEvery: 2))).job.id)
        }
        let pool = Self.makePool(store: store, runner: runner, directory: directory, workers: 2)
        try pool.start()
        pool.notifyJobQueued()
        try pool.waitUntilIdle()
        pool.stop()

        for (id, steps) in zip(ids, [3, 5, 7, 4]) {
            let job = try store.job(id: id)
            #expect(job.status == .succeeded && job.attempt == 1 && job.step == steps && job.fractionDone == 1)
            #expect(runner.executedSteps(of: id) == Array(1...steps))
            let model = try store.model(id: try #require(job.resultModelID))
            #expect(model.kind == .fineTuned && model.labelsJSON == #"["count"]"#)
            let weights = try String(contentsOfFile: model.path + "/weights.txt", encoding: .utf8)
            #expect(weights == "\(steps)")
            #expect(model.weightsHash == SHA256.hexDigest(of: Array(weights.utf8)))

            let series = try store.metrics(jobID: id)
            #expect(series.filter { $0.scope == .step }.map(\.value) == (1...steps).map(Double.init))
            let events = try store.events(jobID: id).map(\.kind)
            #expect(events.first == "queued" && events[1] == "started" && events.last == "succeeded")
            #expect(events.filter { $0 == "checkpoint" }.count == (steps + 1) / 2)
            #expect(!FileManager.default.fileExists(atPath: directory.path("checkpoints/\(id)").path))
        }
    }

    @Test func runnerErrorFailsTheJobWithItsMessage() throws {
        let directory = try TemporaryDirectory()
        let store = try TestSupport.makeStore(in: directory)
        let runner = CountingRunner()
        let id = try store.submitJob(JobSubmission(specJSON: CountingRunner.spec(steps: 6, checkpointEvery: 2,
                                                                               failAtStep: 4))).job.id
        let pool = Self.makePool(store: store, runner: runner, directory: directory)
        #expect(try pool.processNextJob(workerID: "w"))
        let job = try store.job(id: id)
        #expect(job.status == .failed && job.resultModelID == nil)
        #expect(job.error == "The counter refused step 4; lower fail_at_step and resubmit.")
        #expect(runner.executedSteps(of: id) == [1, 2, 3])
        #expect(try store.listModels().isEmpty)
        // the runner creates its output folder; a failed job leaves none (nor the models/ folder it would be in)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: directory.path("models").path)) ?? []).isEmpty)
        #expect(try pool.processNextJob(workerID: "w") == false)
    }

    @Test func cancellationStopsARunningJobAtTheNextStep() throws {
        let directory = try TemporaryDirectory()
        let store = try TestSupport.makeStore(in: directory)
        let runner = CountingRunner()
        let reached = DispatchSemaphore(value: 0), proceed = DispatchSemaphore(value: 0)
        runner.beforeStep = { _, step in
            if step == 3 { reached.signal(); _ = proceed.wait(timeout: .now() + 120) }
        }
        let id = try store.submitJob(JobSubmission(specJSON: CountingRunner.spec(steps: 10, checkpointEvery: 2))).job.id
        let pool = Self.makePool(store: store, runner: runner, directory: directory)
        try pool.start()
        pool.notifyJobQueued()
        guard waitOrRecord(reached, "step 3") else { return }
        #expect(try store.requestCancellation(jobID: id).status == .cancelling)
        proceed.signal()
        try pool.waitUntilIdle()
        pool.stop()

        let job = try store.job(id: id)
        #expect(job.status == .cancelled && job.finishedAt != nil && job.resultModelID == nil)
        #expect(runner.executedSteps(of: id) == [1, 2])
        let events = try store.events(jobID: id).map(\.kind)
        #expect(events == ["queued", "started", "checkpoint", "cancelling", "cancelled"])
        #expect(!FileManager.default.fileExists(atPath: directory.path("checkpoints/\(id)").path))
        expectConflict("job_finished") { try store.requestCancellation(jobID: id) }
    }

    @Test func gracefulStopCheckpointsAndTheNextPoolResumes() throws {
        let directory = try TemporaryDirectory()
        let runner = CountingRunner()
        let reached = DispatchSemaphore(value: 0), proceed = DispatchSemaphore(value: 0)
        runner.beforeStep = { _, step in
            if step == 4 { reached.signal(); _ = proceed.wait(timeout: .now() + 120) }
        }
        let id: String
        do {
            let store = try TestSupport.makeStore(in: directory)
            id = try store.submitJob(JobSubmission(specJSON: CountingRunner.spec(steps: 8, checkpointEvery: 10))).job.id
            let pool = Self.makePool(store: store, runner: runner, directory: directory)
            try pool.start()
            pool.notifyJobQueued()
            guard waitOrRecord(reached, "step 4") else { return }
            pool.requestStop()
            proceed.signal()
            pool.stop()
            let job = try store.job(id: id)
            #expect(job.status == .queued && job.attempt == 1 && job.claimedBy == nil && job.step == 3)
            #expect(try store.events(jobID: id).last?.kind == "requeued")
            let checkpoint = directory.path("checkpoints/\(id)")
            #expect(try CountingRunner.loadCheckpoint(in: checkpoint) == 3)
        }
        runner.beforeStep = nil
        // A new process: a new store on the same file, a new pool.
        let store = try TestSupport.makeStore(in: directory)
        let pool = Self.makePool(store: store, runner: runner, directory: directory)
        try pool.start()
        try pool.waitUntilIdle()
        pool.stop()
        let job = try store.job(id: id)
        #expect(job.status == .succeeded && job.attempt == 2)
        #expect(runner.executedSteps(of: id) == Array(1...8), "every step ran exactly once across both attempts")
        let kinds = try store.events(jobID: id).map(\.kind)
        #expect(kinds == ["queued", "started", "requeued", "started", "resumed", "checkpoint", "succeeded"])
    }

    @Test func aWorkerThatLostItsLeaseWritesNothingMore() throws {
        let directory = try TemporaryDirectory()
        let store = try TestSupport.makeStore(in: directory)
        let runner = CountingRunner()
        let reached = DispatchSemaphore(value: 0), proceed = DispatchSemaphore(value: 0)
        runner.beforeStep = { _, step in
            if step == 3 { reached.signal(); _ = proceed.wait(timeout: .now() + 120) }
        }
        let id = try store.submitJob(JobSubmission(specJSON: CountingRunner.spec(steps: 6, checkpointEvery: 1))).job.id
        let pool = Self.makePool(store: store, runner: runner, directory: directory)
        try pool.start()
        pool.notifyJobQueued()
        guard waitOrRecord(reached, "step 3") else { return }
        // Another process judges the worker dead (its heartbeat looks stale to a clock far ahead) and takes over.
        let recovered = try store.recoverAbandonedJobs(staleBefore: Date().addingTimeInterval(3600), maxAttempts: 3)
        #expect(recovered.map(\.newStatus) == [.queued])
        pool.requestStop()   // keep this pool from claiming the job again
        #expect(try store.claimNextQueuedJob(workerID: "other-host:1:x/0")?.id == id)
        proceed.signal()
        pool.stop()
        let job = try store.job(id: id)
        #expect(job.status == .running && job.claimedBy == "other-host:1:x/0" && job.attempt == 2)
        #expect(job.step == 2, "the old worker recorded no progress after losing the job")
        #expect(runner.executedSteps(of: id) == [1, 2])
        #expect(try store.listModels().isEmpty)
    }
}
