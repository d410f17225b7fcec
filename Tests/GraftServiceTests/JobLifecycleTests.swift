// The job state machine over a real SQLite file: transitions, conflicts, idempotency, metrics and events.
import Foundation
import Testing
@testable import GraftService

@Suite struct JobLifecycleTests {
    /// The full table of allowed moves, written out independently of `JobStatus.allowedNext`.
    @Test func stateMachineTable() {
        let allowed: Set<String> = [
            "queued>running", "queued>cancelled",
            "running>succeeded", "running>failed", "running>cancelling", "running>queued",
            "cancelling>cancelled", "cancelling>failed", "cancelling>succeeded",
        ]
        for from in JobStatus.allCases {
            for to in JobStatus.allCases {
                #expect(from.canMove(to: to) == allowed.contains("\(from.rawValue)>\(to.rawValue)"), "\(from) → \(to)")
            }
        }
        #expect(JobStatus.allCases.filter(\.isTerminal) == [.succeeded, .failed, .cancelled])
    }

    @Test func happyPathRecordsTimestampsAttemptsAndEvents() throws {
        let directory = try TemporaryDirectory()
        let store = try TestSupport.makeStore(in: directory)
        try TestSupport.seedCatalog(store)
        let (queued, created) = try store.submitJob(
            JobSubmission(specJSON: #"{"epochs":1}"#, baseModelID: "base-tiny", datasetID: "ds-1"))
        #expect(created)
        #expect(queued.status == .queued && queued.attempt == 0 && queued.startedAt == nil)

        let claimed = try #require(try store.claimNextQueuedJob(workerID: "w1"))
        #expect(claimed.id == queued.id && claimed.status == .running && claimed.attempt == 1)
        #expect(claimed.claimedBy == "w1" && claimed.startedAt != nil && claimed.heartbeatAt != nil)
        #expect(try store.claimNextQueuedJob(workerID: "w2") == nil)

        let status = try store.recordProgress(jobID: queued.id, workerID: "w1",
                                              progress: JobProgress(epoch: 1, totalEpochs: 2, step: 5, totalSteps: 20))
        #expect(status == .running)
        let moving = try store.job(id: queued.id)
        #expect(moving.step == 5 && moving.totalSteps == 20 && moving.fractionDone == 0.25 && moving.epoch == 1)

        let model = ModelRecord(id: "model-out", name: "tuned", kind: .fineTuned, path: "/m/out",
                                weightsHash: String(repeating: "a", count: 64), parentModelID: "base-tiny")
        let done = try store.markSucceeded(jobID: queued.id, workerID: "w1", resultModel: model)
        #expect(done.status == .succeeded && done.resultModelID == "model-out" && done.fractionDone == 1)
        #expect(done.finishedAt != nil)
        #expect(try store.model(id: "model-out").parentModelID == "base-tiny")
        #expect(try store.events(jobID: queued.id).map(\.kind) == ["queued", "started", "succeeded"])
    }

    @Test func illegalTransitionsAreConflicts() throws {
        let directory = try TemporaryDirectory()
        let store = try TestSupport.makeStore(in: directory)
        let job = try store.submitJob(JobSubmission(specJSON: "{}")).job

        // A queued job cannot succeed, fail or be handed back.
        expectConflict("invalid_job_transition") { try store.markSucceeded(jobID: job.id, workerID: "w", resultModel: nil) }
        expectConflict("invalid_job_transition") { try store.markFailed(jobID: job.id, workerID: "w", error: "x") }
        expectConflict("invalid_job_transition") { try store.releaseJob(jobID: job.id, workerID: "w", reason: "x") }
        #expect(try store.job(id: job.id).status == .queued)

        _ = try store.claimNextQueuedJob(workerID: "w")
        // Another worker cannot end a job it does not own.
        expectConflict("lease_lost") { try store.markFailed(jobID: job.id, workerID: "intruder", error: "x") }
        expectConflict("lease_lost") { try store.recordProgress(jobID: job.id, workerID: "intruder",
                                                                progress: JobProgress(epoch: 0, totalEpochs: 1,
                                                                                      step: 1, totalSteps: 1)) }
        expectConflict("lease_lost") { try store.recordMetrics(jobID: job.id, workerID: "intruder", [
            MetricValue(scope: .step, epoch: 0, step: 1, name: "loss", value: 1)]) }
        expectConflict("lease_lost") { try store.appendEvent(jobID: job.id, workerID: "intruder", kind: "x",
                                                             message: "x") }
        try store.recordMetrics(jobID: job.id, workerID: "w", [MetricValue(scope: .step, epoch: 0, step: 1,
                                                                           name: "loss", value: 1)])
        #expect(try store.metrics(jobID: job.id).count == 1)
        try store.markFailed(jobID: job.id, workerID: "w", error: "boom: try a smaller batch")
        #expect(try store.job(id: job.id).error == "boom: try a smaller batch")

        // Finished jobs stay finished.
        expectConflict("job_finished") { try store.requestCancellation(jobID: job.id) }
        expectConflict("invalid_job_transition") { try store.markCancelled(jobID: job.id, workerID: "w") }
        expectConflict("invalid_job_transition") { try store.markSucceeded(jobID: job.id, workerID: "w", resultModel: nil) }
        #expect(try store.job(id: job.id).status == .failed)

        #expect(throws: ServiceError.notFound(kind: "job", id: "job_missing")) {
            try store.requestCancellation(jobID: "job_missing")
        }
    }

    @Test func cancellationOfQueuedRunningAndCancellingJobs() throws {
        let directory = try TemporaryDirectory()
        let store = try TestSupport.makeStore(in: directory)
        let first = try store.submitJob(JobSubmission(specJSON: #"{"n":1}"#)).job
        let second = try store.submitJob(JobSubmission(specJSON: #"{"n":2}"#)).job

        _ = try #require(try store.claimNextQueuedJob(workerID: "w"))   // claims the oldest: `first`
        let queuedCancel = try store.requestCancellation(jobID: second.id)
        #expect(queuedCancel.status == .cancelled && queuedCancel.finishedAt != nil)

        let winding = try store.requestCancellation(jobID: first.id)
        #expect(winding.status == .cancelling && winding.finishedAt == nil)
        #expect(try store.requestCancellation(jobID: first.id).status == .cancelling)   // asking twice is harmless
        #expect(try store.heartbeat(jobID: first.id, workerID: "w") == .cancelling)
        // A worker handing back a job being cancelled cancels it rather than requeueing it.
        #expect(try store.releaseJob(jobID: first.id, workerID: "w", reason: "shutdown").status == .cancelled)
        #expect(try store.events(jobID: first.id).map(\.kind) == ["queued", "started", "cancelling", "cancelled"])
        #expect(try store.claimNextQueuedJob(workerID: "w") == nil)
    }

    @Test func idempotencyKeyReturnsTheFirstJobAndRefusesADifferentRequest() throws {
        let directory = try TemporaryDirectory()
        let store = try TestSupport.makeStore(in: directory)
        let first = try store.submitJob(JobSubmission(specJSON: #"{"lr":0.1}"#, idempotencyKey: "key-1"))
        let retry = try store.submitJob(JobSubmission(specJSON: #"{"lr":0.1}"#, idempotencyKey: "key-1"))
        #expect(first.created && !retry.created && retry.job.id == first.job.id)
        expectConflict("idempotency_key_reused") {
            try store.submitJob(JobSubmission(specJSON: #"{"lr":0.2}"#, idempotencyKey: "key-1"))
        }
        let other = try store.submitJob(JobSubmission(specJSON: #"{"lr":0.1}"#, idempotencyKey: "key-2"))
        #expect(other.created && other.job.id != first.job.id)
        let unkeyed = try store.submitJob(JobSubmission(specJSON: #"{"lr":0.1}"#))
        #expect(unkeyed.created)
        #expect(try store.listJobs().count == 3)
    }

    @Test func unknownModelOrDatasetIsNotFound() throws {
        let directory = try TemporaryDirectory()
        let store = try TestSupport.makeStore(in: directory)
        try TestSupport.seedCatalog(store)
        #expect(throws: ServiceError.notFound(kind: "model", id: "nope")) {
            try store.submitJob(JobSubmission(specJSON: "{}", baseModelID: "nope", datasetID: "ds-1"))
        }
        #expect(throws: ServiceError.notFound(kind: "dataset", id: "nope")) {
            try store.submitJob(JobSubmission(specJSON: "{}", baseModelID: "base-tiny", datasetID: "nope"))
        }
        #expect(try store.listJobs().isEmpty)
    }

    @Test func metricsAreOrderedAndAResumedStepReplacesItsValue() throws {
        let directory = try TemporaryDirectory()
        let store = try TestSupport.makeStore(in: directory)
        let job = try store.submitJob(JobSubmission(specJSON: "{}")).job
        try store.recordMetrics(jobID: job.id, [
            MetricValue(scope: .step, epoch: 0, step: 2, name: "loss", value: 0.9),
            MetricValue(scope: .step, epoch: 0, step: 1, name: "loss", value: 1.2),
            MetricValue(scope: .epoch, epoch: 0, step: 2, name: "accuracy", value: 0.5),
        ])
        try store.recordMetrics(jobID: job.id, [MetricValue(scope: .step, epoch: 0, step: 2, name: "loss", value: 0.8)])
        let series = try store.metrics(jobID: job.id)
        #expect(series.map(\.scope) == [.step, .step, .epoch])
        #expect(series.map(\.step) == [1, 2, 2])
        #expect(series.map(\.value) == [1.2, 0.8, 0.5])
        #expect(throws: ServiceError.self) {
            try store.recordMetrics(jobID: job.id, [MetricValue(scope: .step, epoch: 0, step: 3, name: "loss",
                                                                value: .nan)])
        }
    }

    @Test func eventsKeepTheirOrderAndResumeAfterAnID() throws {
        let directory = try TemporaryDirectory()
        let store = try TestSupport.makeStore(in: directory)
        let job = try store.submitJob(JobSubmission(specJSON: "{}")).job
        for index in 1...5 {
            try store.appendEvent(jobID: job.id, kind: "progress", message: "step \(index)", data: ["step": index])
        }
        let all = try store.events(jobID: job.id)
        #expect(all.map(\.message) == ["Job queued.", "step 1", "step 2", "step 3", "step 4", "step 5"])
        #expect(all.map(\.id) == all.map(\.id).sorted())
        #expect(all[3].dataJSON == #"{"step":3}"#)
        let rest = try store.events(jobID: job.id, afterID: all[3].id)
        #expect(rest.map(\.message) == ["step 4", "step 5"])
    }

    @Test func jobsSubmittedInTheSameMillisecondAreClaimedInSubmissionOrder() throws {
        let directory = try TemporaryDirectory()
        let store = try TestSupport.makeStore(in: directory)
        let instant = Date(timeIntervalSince1970: 1_800_000_000)
        var ids: [String] = []
        for index in 0..<6 {
            ids.append(try store.submitJob(JobSubmission(specJSON: "{\"n\":\(index)}"), now: instant).job.id)
        }
        var claimed: [String] = []
        while let job = try store.claimNextQueuedJob(workerID: "w", now: instant) { claimed.append(job.id) }
        #expect(claimed == ids)
        #expect(try store.listJobs().map(\.id) == ids.reversed())
    }

    @Test func listingFiltersAndPagesNewestFirst() throws {
        let directory = try TemporaryDirectory()
        let store = try TestSupport.makeStore(in: directory)
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        var ids: [String] = []
        for index in 0..<5 {
            ids.append(try store.submitJob(JobSubmission(specJSON: "{\"n\":\(index)}"),
                                           now: start.addingTimeInterval(Double(index))).job.id)
        }
        _ = try store.requestCancellation(jobID: ids[1])
        #expect(try store.listJobs().map(\.id) == ids.reversed())
        #expect(try store.listJobs(limit: 2, offset: 1).map(\.id) == [ids[3], ids[2]])
        #expect(try store.listJobs(status: .cancelled).map(\.id) == [ids[1]])
        let counts = try store.jobCountsByStatus()
        #expect(counts[.queued] == 4 && counts[.cancelled] == 1 && counts[.running] == 0)
    }

    @Test func datasetsAndModelsInUseCannotBeDeleted() throws {
        let directory = try TemporaryDirectory()
        let store = try TestSupport.makeStore(in: directory)
        try TestSupport.seedCatalog(store)
        try store.insertModel(ModelRecord(id: "tuned", name: "t", kind: .fineTuned, path: "/m/t",
                                          weightsHash: "h", parentModelID: "base-tiny"))
        let job = try store.submitJob(JobSubmission(specJSON: "{}", baseModelID: "tuned", datasetID: "ds-1")).job
        expectConflict("dataset_in_use") { try store.deleteDataset(id: "ds-1") }
        expectConflict("model_in_use") { try store.deleteModel(id: "tuned", deletableBases: URL(fileURLWithPath: "/data/models/imported")) }
        expectConflict("model_is_base") { try store.deleteModel(id: "base-tiny", deletableBases: URL(fileURLWithPath: "/data/models/imported")) }
        _ = try store.requestCancellation(jobID: job.id)
        #expect(try store.deleteDataset(id: "ds-1").path == "/data/shapes")
        #expect(try store.deleteModel(id: "tuned", deletableBases: URL(fileURLWithPath: "/data/models/imported")).path == "/m/t")
        // The finished job keeps its history with the references cleared.
        let after = try store.job(id: job.id)
        #expect(after.datasetID == nil && after.baseModelID == nil && after.status == .cancelled)
        #expect(try store.listModels().map(\.id) == ["base-tiny"])
    }
}

/// Expects `body` to throw a `ServiceError.conflict` with `code` (a 409 in HTTP terms).
func expectConflict<T>(_ code: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> T) {
    do {
        _ = try body()
        Issue.record("expected a \(code) conflict", sourceLocation: sourceLocation)
    } catch let error as ServiceError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        #expect(error.httpStatusCode == 409, sourceLocation: sourceLocation)
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
    }
}
