// The service's routes in process: status codes, bodies, validation errors naming fields, auth, idempotency.
import FineTuning
import Foundation
import HTTPServer
import Testing
@testable import GraftService

@Suite struct RouteTests {
    @Test func healthAndReadiness() throws {
        let harness = try RouteHarness()
        #expect(harness.call(.get, "/health").json["status"] as? String == "ok")
        let ready = harness.call(.get, "/ready")
        #expect(ready.status == 200 && ready.json["status"] as? String == "ready")
        #expect(ready.json["base_models"] as? Int == 1 && ready.json["workers"] as? Int == 1)
    }

    @Test func prometheusMetricsCountJobsByState() throws {
        let harness = try RouteHarness()
        _ = harness.call(.post, "/jobs")
        let second = harness.call(.post, "/jobs", json: #"{"hyperparameters": {"seed": 1}}"#).json["id"] as? String
        _ = harness.call(.delete, "/jobs/\(second ?? "")")
        let metrics = harness.call(.get, "/metrics")
        #expect(metrics.status == 200)
        let text = String(decoding: metrics.bytes, as: UTF8.self)
        #expect(text.contains(#"graft_jobs{status="queued"} 1"#), "\(text)")
        #expect(text.contains(#"graft_jobs{status="cancelled"} 1"#))
        #expect(text.contains(#"graft_jobs{status="running"} 0"#))
        #expect(text.contains("graft_job_queue_depth 1"))
    }

    @Test func submitShowListAndCancelAJob() throws {
        let harness = try RouteHarness()
        let created = harness.call(.post, "/jobs", json: """
            {"base_model": "base-tiny", "dataset": "ds-1", "hyperparameters": {"epochs": 3, "learning_rate": 0.01}}
            """)
        #expect(created.status == 202)
        let id = try #require(created.json["id"] as? String)
        #expect(created.headers["Location"] == "/jobs/\(id)")
        #expect(created.json["status"] as? String == "queued")
        let spec = try #require(created.json["spec"] as? [String: Any])
        let hyper = try #require(spec["hyperparameters"] as? [String: Any])
        #expect(hyper["epochs"] as? Int == 3 && hyper["learning_rate"] as? Double == 0.01)
        #expect(hyper["batch_size"] as? Int == FineTuneSpec().batchSize && hyper["optimizer"] as? String == "adam", "defaults filled")

        let shown = harness.call(.get, "/jobs/\(id)")
        #expect(shown.status == 200 && shown.json["id"] as? String == id)
        #expect((shown.json["progress"] as? [String: Any])?["fraction_done"] as? Double == 0)

        let listed = harness.call(.get, "/jobs?status=queued&limit=10")
        #expect((listed.json["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [id])
        #expect(listed.json["next_offset"] == nil)

        let cancelled = harness.call(.delete, "/jobs/\(id)")
        #expect(cancelled.status == 200 && cancelled.json["status"] as? String == "cancelled")
        let again = harness.call(.delete, "/jobs/\(id)")
        #expect(again.status == 409 && again.errorCode == "job_finished")
        #expect(harness.call(.get, "/jobs/job_nope").status == 404)
        #expect(harness.call(.get, "/jobs/job_nope").errorCode == "job_not_found")
    }

    @Test func idempotencyKeyOverHTTP() throws {
        let harness = try RouteHarness()
        let body = #"{"dataset": "ds-1", "hyperparameters": {"epochs": 2}}"#
        let first = harness.call(.post, "/jobs", headers: ["Idempotency-Key": "abc"], json: body)
        // The same request, keys in another order and other spacing: the same job, 200 instead of 202.
        let retry = harness.call(.post, "/jobs", headers: ["Idempotency-Key": "abc"],
                                 json: #"{ "hyperparameters": {"epochs": 2}, "dataset": "ds-1" }"#)
        #expect(first.status == 202 && retry.status == 200)
        #expect(first.json["id"] as? String == retry.json["id"] as? String)
        let different = harness.call(.post, "/jobs", headers: ["Idempotency-Key": "abc"],
                                     json: #"{"dataset": "ds-1", "hyperparameters": {"epochs": 3}}"#)
        #expect(different.status == 409 && different.errorCode == "idempotency_key_reused")
        #expect(try harness.service.store.listJobs().count == 1)
    }

    /// Bad requests: (body, expected status, expected error field).
    @Test(arguments: [
        (#"{"base_model": "nope"}"#, 422, "base_model"),
        (#"{"dataset": "nope"}"#, 422, "dataset"),
        (#"{"dataset": 7}"#, 422, "dataset"),
        (#"{"hyperparameters": {"epochs": 0}}"#, 422, "hyperparameters.epochs"),
        (#"{"hyperparameters": {"epochs": 2.5}}"#, 422, "hyperparameters.epochs"),
        (#"{"hyperparameters": {"learning_rate": 0}}"#, 422, "hyperparameters.learning_rate"),
        (#"{"hyperparameters": {"learning_rate": "fast"}}"#, 422, "hyperparameters.learning_rate"),
        (#"{"hyperparameters": {"optimizer": "rmsprop"}}"#, 422, "hyperparameters.optimizer"),
        (#"{"hyperparameters": {"augment": 1}}"#, 422, "hyperparameters.augment"),
        (#"{"hyperparameters": {"epoch": 3}}"#, 422, "hyperparameters.epoch"),
        (#"{"hyperparameters": [1]}"#, 422, "hyperparameters"),
        (#"{"model": "base-tiny"}"#, 422, "model"),
        (#"[1, 2]"#, 422, ""),
        (#"{"dataset": "ds-1""#, 400, ""),
    ])
    func badJobRequests(body: String, status: Int, field: String) throws {
        let harness = try RouteHarness()
        let response = harness.call(.post, "/jobs", json: body)
        #expect(response.status == status, "\(body)")
        #expect((response.errorField ?? "") == field, "\(body)")
        #expect(response.errorCode != nil)
        #expect(try harness.service.store.listJobs().isEmpty, "no row for a refused request")
    }

    @Test func wrongContentTypeAndQueryErrors() throws {
        let harness = try RouteHarness()
        let wrongType = harness.call(.post, "/jobs", headers: ["Content-Type": "text/plain"], json: "{}")
        #expect(wrongType.status == 415)
        #expect(harness.call(.get, "/jobs?status=paused").errorField == "status")
        #expect(harness.call(.get, "/jobs?limit=0").errorField == "limit")
        #expect(harness.call(.get, "/jobs?offset=-1").status == 422)
        // An empty body takes every default: the only base model and the newest dataset.
        let defaults = harness.call(.post, "/jobs")
        #expect(defaults.status == 202 && defaults.json["base_model_id"] as? String == "base-tiny")
        #expect(defaults.json["dataset_id"] as? String == "ds-1")
    }

    @Test func paginationReportsTheNextOffset() throws {
        let harness = try RouteHarness()
        for index in 0..<5 {
            _ = harness.call(.post, "/jobs", json: "{\"hyperparameters\": {\"seed\": \(index)}}")
        }
        let first = harness.call(.get, "/jobs?limit=2")
        #expect((first.json["items"] as? [Any])?.count == 2 && first.json["next_offset"] as? Int == 2)
        let last = harness.call(.get, "/jobs?limit=2&offset=4")
        #expect((last.json["items"] as? [Any])?.count == 1 && last.json["next_offset"] == nil)
    }

    @Test func routesNeedTheTokenWhenOneIsSet() throws {
        let harness = try RouteHarness(apiToken: "s3cret")
        #expect(harness.call(.post, "/jobs").status == 401)
        #expect(harness.call(.post, "/jobs", headers: ["Authorization": "Bearer wrong"]).status == 401)
        #expect(harness.call(.delete, "/datasets/ds-1").status == 401)
        #expect(harness.call(.get, "/jobs").status == 401, "reads are the user's data too")
        #expect(harness.call(.get, "/jobs", headers: ["Authorization": "Bearer s3cret"]).status == 200)
        #expect(harness.call(.post, "/jobs", headers: ["Authorization": "Bearer s3cret"]).status == 202)
        #expect(try harness.service.store.listJobs().count == 1)
    }

    @Test func modelAndDatasetRoutes() throws {
        let harness = try RouteHarness()
        let models = harness.call(.get, "/models").json["models"] as? [[String: Any]]
        #expect(models?.compactMap { $0["id"] as? String } == ["base-tiny"])
        let dataset = harness.call(.get, "/datasets/ds-1")
        #expect(dataset.json["labels"] as? [String] == ["a", "b"] && dataset.json["class_count"] as? Int == 2)
        #expect(harness.call(.delete, "/models/base-tiny").errorCode == "model_is_base")
        #expect(harness.call(.get, "/models/zzz").status == 404)

        let job = harness.call(.post, "/jobs").json["id"] as? String
        #expect(harness.call(.delete, "/datasets/ds-1").errorCode == "dataset_in_use")
        _ = harness.call(.delete, "/jobs/\(job ?? "")")
        #expect(harness.call(.delete, "/datasets/ds-1").status == 204)
        #expect(harness.call(.get, "/datasets/ds-1").status == 404)
    }

    @Test func metricSummariesPickLatestAndBest() {
        func metric(_ scope: JobMetricRecord.Scope, _ step: Int, _ name: String, _ value: Double) -> JobMetricRecord {
            JobMetricRecord(id: 0, jobID: "j", scope: scope, epoch: 0, step: step, name: name, value: value,
                            recordedAt: Date())
        }
        let (latest, best) = JobBody.summarize([
            metric(.step, 1, "loss", 2.0), metric(.epoch, 10, "validation_loss", 0.7),
            metric(.epoch, 10, "accuracy", 0.6), metric(.epoch, 20, "validation_loss", 0.9),
            metric(.epoch, 20, "accuracy", 0.8), metric(.step, 20, "loss", 0.5), metric(.epoch, 20, "loss", 0.55),
        ])
        #expect(latest == ["loss": 0.55, "validation_loss": 0.9, "accuracy": 0.8])
        #expect(best == ["validation_loss": 0.7, "accuracy": 0.8, "loss": 0.55])
    }

    @Test func etaIsElapsedTimeScaledByTheFractionLeft() throws {
        let directory = try TemporaryDirectory()
        let store = try TestSupport.makeStore(in: directory)
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let id = try store.submitJob(JobSubmission(specJSON: "{}"), now: start).job.id
        _ = try store.claimNextQueuedJob(workerID: "w", now: start)
        try store.recordProgress(jobID: id, workerID: "w", progress: JobProgress(epoch: 0, totalEpochs: 1, step: 25,
                                                                                totalSteps: 100),
                                 now: start.addingTimeInterval(100))
        // 25 % took 100 s, so 75 % takes 300 s more.
        let running = JobBody(try store.job(id: id))
        #expect(running.progress.etaSeconds.map { abs($0 - 300) < 1e-6 } == true)
        try store.markFailed(jobID: id, workerID: "w", error: "x")
        #expect(JobBody(try store.job(id: id)).progress.etaSeconds == nil, "no ETA once the job has ended")
    }
}
