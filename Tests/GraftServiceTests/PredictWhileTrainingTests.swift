// Predictions keep flowing, and stay correct, while a fine-tuning job trains on the worker pool.
import Foundation
import Testing
@testable import GraftService

@Suite(.serialized) struct PredictWhileTrainingTests {
    /// Top-k (label, probability) pairs per image from a /predict answer.
    static func labels(_ response: TestResponse) throws -> [[(String, Double)]] {
        let predictions = try #require(response.json["predictions"] as? [[String: Any]],
                                       "\(String(decoding: response.bytes, as: UTF8.self))")
        return predictions.map { prediction in
            ((prediction["labels"] as? [[String: Any]]) ?? []).map {
                ($0["label"] as? String ?? "?", $0["probability"] as? Double ?? -1)
            }
        }
    }

    @Test func predictionsDuringTrainingMatchThoseBeforeIt() throws {
        let harness = try RouteHarness(runner: FineTuningJobRunner(threads: 2))
        try EndToEndFineTuningTests.installDefaultBase(harness)
        let archive = try DatasetRouteTests.sampleZip(perClass: 20, in: harness.directory)
        let uploaded = harness.call(.post, "/datasets?name=fashion", headers: ["Content-Type": "application/zip"],
                                    bytes: try Data(contentsOf: archive))
        let datasetID = try #require(uploaded.json["id"] as? String)

        // The held-out images as one JSON batch for the base model, answered before any job exists.
        let heldOut = archive.deletingLastPathComponent().appendingPathComponent("fashion-5-9-heldout")
        var images: [String] = []
        for label in try FileManager.default.contentsOfDirectory(atPath: heldOut.path).sorted() {
            let folder = heldOut.appendingPathComponent(label)
            for file in try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() {
                images.append(try Data(contentsOf: folder.appendingPathComponent(file)).base64EncodedString())
            }
        }
        let request = String(decoding: try JSONSerialization.data(withJSONObject: [
            "model": "fmnist-resnet8", "top_k": 3, "images": images] as [String: Any]), as: UTF8.self)
        let before = try Self.labels(harness.call(.post, "/predict", json: request))
        #expect(before.count == 5 && before.allSatisfy { $0.count == 3 })

        // A long job: whole network trained without the feature cache, so the CPU is busy for a while.
        try harness.service.start()
        defer { harness.service.shutdown() }
        let job = harness.call(.post, "/jobs", json: """
            {"base_model": "fmnist-resnet8", "dataset": "\(datasetID)",
             "hyperparameters": {"epochs": 40, "freeze": "none", "feature_cache": false, "seed": 1}}
            """)
        let jobID = try #require(job.json["id"] as? String)
        var started = false
        for _ in 0..<2000 where !started {
            let shown = try harness.service.store.job(id: jobID)
            started = shown.status == .running && shown.step > 0
            if !started { Thread.sleep(forTimeInterval: 0.02) }
        }
        try #require(started, "the job never started training")

        // Predict repeatedly while it trains: every answer equals the one from before the job.
        var duringTraining = 0
        for _ in 0..<6 {
            let stepBefore = try harness.service.store.job(id: jobID)
            let answer = try Self.labels(harness.call(.post, "/predict", json: request))
            let stepAfter = try harness.service.store.job(id: jobID)
            #expect(answer.count == before.count)
            for (got, expected) in zip(answer, before) {
                #expect(got.map(\.0) == expected.map(\.0))
                for (a, b) in zip(got.map(\.1), expected.map(\.1)) { #expect(abs(a - b) < 1e-5) }
            }
            // Counted only when the job was running on both sides of the request.
            if stepBefore.status == .running && stepAfter.status == .running { duringTraining += 1 }
        }
        #expect(duringTraining >= 3, "only \(duringTraining) predictions overlapped the training job")
        #expect(harness.call(.delete, "/jobs/\(jobID)").status == 202)
    }
}
