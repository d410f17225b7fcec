// A long job with the real fine-tuning runner writes at most the metric rows its limit allows: step metrics are
// thinned, every epoch's values are kept.
import Foundation
import Testing
@testable import GraftService

@Suite(.serialized) struct MetricRowLimitTests {
    @Test func stepMetricsAreThinnedToTheRowLimit() throws {
        var limits = JobLimits()
        // 280 rows: room for the epoch rows of `auto`'s probe and run, 2 × 10 × 7, and some steps.
        limits.maxMetricRows = 280
        let harness = try RouteHarness(runner: FineTuningJobRunner(threads: 2), jobLimits: limits)
        try EndToEndFineTuningTests.installDefaultBase(harness)
        let zip = try DatasetRouteTests.sampleZip(perClass: 20, in: harness.directory)
        let (dataset, _) = try harness.service.importDatasetArchive(at: zip, name: "fashion")
        // 80 training images in batches of 4: 20 steps an epoch, 200 steps, 600 step values unthinned.
        let body = """
            {"base_model": "fmnist-resnet8", "dataset": "\(dataset.id)",
             "hyperparameters": {"epochs": 10, "batch_size": 4, "seed": 2, "freeze": "backbone"}}
            """
        let created = harness.call(.post, "/jobs", json: body)
        let id = try #require(created.json["id"] as? String, "\(created.json)")
        let auto = harness.call(.post, "/jobs", json: body.replacingOccurrences(of: #", "freeze": "backbone""#, with: ""))
        let autoID = try #require(auto.json["id"] as? String, "\(auto.json)")
        try harness.service.start()
        try harness.service.workers.waitUntilIdle()
        harness.service.shutdown()

        let job = try harness.service.store.job(id: id)
        #expect(job.status == .succeeded && job.totalSteps == 200, "\(job.status) \(job.error ?? "")")
        let rows = try harness.service.store.metrics(jobID: id)
        #expect(rows.count <= limits.maxMetricRows, "\(rows.count) rows")
        let epochRows = rows.filter { $0.scope == .epoch }
        #expect(epochRows.count == 10 * 4, "loss, accuracy, val_loss and val_accuracy of every epoch")
        let steps = Set(rows.filter { $0.scope == .step }.map(\.step))
        #expect(steps.count >= 10 && steps.count < 200, "\(steps.count) steps recorded")
        #expect((1...10).allSatisfy { steps.contains($0 * 20) }, "each epoch's last step is recorded")
        #expect(limits.metricStride(totalSteps: 200, epochs: 10) == 3)

        // `auto` records its probe's series and the run's, and stays within the limit as well.
        #expect(try harness.service.store.job(id: autoID).status == .succeeded)
        let autoRows = try harness.service.store.metrics(jobID: autoID)
        #expect(autoRows.count <= limits.maxMetricRows, "\(autoRows.count) rows")
        #expect(autoRows.contains { $0.name == "probe_val_loss" } && autoRows.contains { $0.name == "val_loss" })
    }
}
