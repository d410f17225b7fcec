// GET /metrics: request counts and latencies per route, jobs by state, queue depth and training throughput.
import Foundation
import Testing
@testable import GraftService

@Suite struct MetricsRouteTests {
    /// The value of the sample line that starts with `series` (name and labels exactly as printed), if any.
    static func value(of series: String, in text: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }
            .flatMap { Double($0.dropFirst(series.count + 1)) }
    }

    @Test func scrapeShowsRequestsJobsQueueAndThroughput() throws {
        let harness = try RouteHarness()
        for _ in 0..<3 { #expect(harness.call(.get, "/health").status == 200) }
        #expect(harness.call(.get, "/jobs/job_missing").status == 404)
        #expect(harness.call(.get, "/jobs/job_other").status == 404)
        #expect(harness.call(.post, "/jobs", json: "{}").status == 202)
        #expect(harness.call(.post, "/jobs", json: "{}").status == 202)
        #expect(harness.call(.post, "/jobs", json: "{}").status == 202)
        // One job running with a measured pace of 123.5 images/s; two stay queued.
        let store = harness.service.store
        let running = try #require(try store.claimNextQueuedJob(workerID: "w"))
        try store.recordMetrics(jobID: running.id, workerID: "w", [
            MetricValue(scope: .step, epoch: 1, step: 1, name: "images_per_second", value: 80),
            MetricValue(scope: .step, epoch: 1, step: 2, name: "images_per_second", value: 123.5),
        ])

        let scrape = harness.call(.get, "/metrics")
        #expect(scrape.status == 200)
        let text = String(decoding: scrape.bytes, as: UTF8.self)
        let count = { (method: String, route: String, status: Int) in
            Self.value(of: #"graft_http_requests_total{method="\#(method)",route="\#(route)",status="\#(status)"}"#,
                       in: text)
        }
        #expect(count("GET", "/health", 200) == 3, "\(text)")
        #expect(count("GET", "/jobs/:id", 404) == 2, "labelled by pattern, not by path")
        #expect(count("POST", "/jobs", 202) == 3)
        #expect(!text.contains("job_missing"))
        // Latency histogram per route: 3 observations of /health, all below the largest bucket.
        #expect(Self.value(of: #"graft_http_request_duration_seconds_count{method="GET",route="/health"}"#,
                           in: text) == 3)
        #expect(Self.value(of: #"graft_http_request_duration_seconds_bucket{method="GET",route="/health",le="+Inf"}"#,
                           in: text) == 3)
        #expect(Self.value(of: #"graft_jobs{status="queued"}"#, in: text) == 2)
        #expect(Self.value(of: #"graft_jobs{status="running"}"#, in: text) == 1)
        #expect(Self.value(of: #"graft_jobs{status="succeeded"}"#, in: text) == 0)
        #expect(Self.value(of: "graft_job_queue_depth", in: text) == 2)
        #expect(Self.value(of: "graft_training_images_per_second", in: text) == 123.5)

        // Idle again: the throughput gauge falls to zero, and the first scrape is now counted too.
        try store.markFailed(jobID: running.id, workerID: "w", error: "stopped by the test")
        let again = String(decoding: harness.call(.get, "/metrics").bytes, as: UTF8.self)
        #expect(Self.value(of: "graft_training_images_per_second", in: again) == 0)
        #expect(Self.value(of: #"graft_http_requests_total{method="GET",route="/metrics",status="200"}"#,
                           in: again) == 1)

        // The prediction model cache: empty, then one model holding at least its weights file.
        #expect(Self.value(of: "graft_models_loaded", in: again) == 0)
        #expect(Self.value(of: "graft_model_cache_bytes", in: again) == 0)
        let image = try PredictTests.prepare(harness)[0]
        let base = try store.model(id: "tiny-resnet")
        let weights = try #require(try FileManager.default.attributesOfItem(
            atPath: base.path + "/weights.safetensors")[.size] as? NSNumber).doubleValue
        _ = try harness.service.predictor.predict(modelID: "tiny-resnet", images: [Data(contentsOf: image)])
        let loaded = String(decoding: harness.call(.get, "/metrics").bytes, as: UTF8.self)
        #expect(Self.value(of: "graft_models_loaded", in: loaded) == 1)
        #expect((Self.value(of: "graft_model_cache_bytes", in: loaded) ?? 0) >= weights)
    }
}
