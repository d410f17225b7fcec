// The whole product over a real socket with the real fine-tuning runner: upload, train, follow, predict.
import Foundation
import HTTPServer
import Logging
import Testing
@testable import GraftService

@Suite(.serialized) struct EndToEndFineTuningTests {
    /// The embedded default base model, `Models/fmnist-resnet8/` of the repository, registered like start-up does.
    static func installDefaultBase(_ harness: RouteHarness) throws {
        let repository = TestSupport.repositoryMigrations.deletingLastPathComponent()
        try FileManager.default.copyItem(at: repository.appendingPathComponent("Models/fmnist-resnet8"),
                                         to: harness.service.baseModelsDirectory.appendingPathComponent("fmnist-resnet8"))
        let report = try BaseModelCatalog(directory: harness.service.baseModelsDirectory)
            .synchronize(into: harness.service.store)
        #expect(report.registered.contains("fmnist-resnet8"), "\(report)")
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not JSON: \(text)")
    }

    @Test func uploadTrainFollowAndPredictOverHTTP() throws {
        let harness = try RouteHarness(runner: FineTuningJobRunner(threads: 2))
        try Self.installDefaultBase(harness)
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        var logger = Logger(label: "graft.http.test")
        logger.logLevel = .error
        let server = HTTPServer(configuration: configuration, router: harness.router, logger: logger)
        try server.start()
        defer { server.shutdown(gracePeriod: 1) }
        try harness.service.start()
        defer { harness.service.shutdown() }
        let base = "http://127.0.0.1:\(server.port)"
        let curl = LiveServiceTests.curl

        // 20 Fashion-MNIST images per class of sandal, shirt, sneaker, bag, ankle boot, plus held-out images.
        let zip = try DatasetRouteTests.sampleZip(perClass: 20, in: harness.directory)
        let uploaded = try Self.json(curl(["-X", "POST", "-H", "Content-Type: application/zip", "--data-binary",
                                           "@\(zip.path)", base + "/datasets?name=fashion"]))
        let datasetID = try #require(uploaded["id"] as? String, "\(uploaded)")

        // Defaults but the epoch count and the freeze policy: frozen backbone (trained on the other five classes),
        // new linear head. (`"auto"`, the default, has its own test below.)
        let body = """
            {"base_model": "fmnist-resnet8", "dataset": "\(datasetID)",
             "hyperparameters": {"epochs": 6, "seed": 5, "freeze": "backbone"}}
            """
        let created = try Self.json(curl(["-X", "POST", "-H", "Content-Type: application/json", "--data", body,
                                          base + "/jobs"]))
        let jobID = try #require(created["id"] as? String, "\(created)")

        // A freeze boundary that is not a node of the base model is refused at submission, naming the field.
        let refused = try Self.json(curl(["-X", "POST", "-H", "Content-Type: application/json", "--data",
                                          #"{"base_model": "fmnist-resnet8", "hyperparameters": {"freeze": {"until": "nope"}}}"#,
                                          base + "/jobs"]))
        let error = try #require(refused["error"] as? [String: Any], "\(refused)")
        #expect(error["field"] as? String == "hyperparameters.freeze.until")
        #expect((error["message"] as? String)?.contains("conv1") == true, "\(error)")

        // Server-Sent Events until the job ends: one event per epoch, then success.
        let stream = try curl(["-N", base + "/jobs/\(jobID)/events"])
        let kinds = stream.split(separator: "\n").filter { $0.hasPrefix("event: ") }.map { String($0.dropFirst(7)) }
        #expect(kinds.first == "queued" && kinds.last == "succeeded", "\(kinds)")
        #expect(kinds.filter { $0 == "epoch" }.count == 6, "\(kinds)")

        let job = try Self.json(curl([base + "/jobs/\(jobID)"]))
        #expect(job["status"] as? String == "succeeded", "\(job)")
        let progress = try #require(job["progress"] as? [String: Any])
        #expect(progress["epoch"] as? Int == 6 && progress["total_epochs"] as? Int == 6, "\(progress)")
        let modelID = try #require(job["result_model_id"] as? String, "\(job)")
        let metrics = try Self.json(curl([base + "/jobs/\(jobID)/metrics"]))
        let series = try #require(metrics["metrics"] as? [[String: Any]],
                                  "\(metrics.keys)")
        #expect(series.contains { $0["name"] as? String == "val_accuracy" })

        // The fine-tuned model is listed with the dataset's labels and predicts the held-out images.
        let model = try Self.json(curl([base + "/models/\(modelID)"]))
        #expect((model["labels"] as? [String]) == ["ankle-boot", "bag", "sandal", "shirt", "sneaker"], "\(model)")
        let heldOut = zip.deletingLastPathComponent().appendingPathComponent("fashion-5-9-heldout")
        var correct = 0, total = 0
        for label in try FileManager.default.contentsOfDirectory(atPath: heldOut.path).sorted() {
            for file in try FileManager.default.contentsOfDirectory(atPath: heldOut.appendingPathComponent(label).path) {
                let path = heldOut.appendingPathComponent(label).appendingPathComponent(file).path
                let answer = try Self.json(curl(["-F", "model=\(modelID)", "-F", "image=@\(path)", base + "/predict"]))
                let predictions = try #require(answer["predictions"] as? [[String: Any]], "\(answer)")
                let top = (predictions.first?["labels"] as? [[String: Any]])?.first?["label"] as? String
                total += 1
                if top == label { correct += 1 }
            }
        }
        #expect(total == 5)
        // Chance is 1 in 5; the frozen features separate these classes well (about 87 % on the full test set).
        #expect(correct >= 4, "\(correct) of \(total) held-out images classified correctly")
    }

    /// The default job, `"freeze": "auto"`, over the socket: the search's candidates while and after it runs, the
    /// choice in the job, its metrics and the model's provenance.
    @Test func autoJobReportsItsSearchOverHTTP() throws {
        let harness = try RouteHarness(runner: FineTuningJobRunner(threads: 2))
        try Self.installDefaultBase(harness)
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        var logger = Logger(label: "graft.http.test")
        logger.logLevel = .error
        let server = HTTPServer(configuration: configuration, router: harness.router, logger: logger)
        try server.start()
        defer { server.shutdown(gracePeriod: 1) }
        try harness.service.start()
        defer { harness.service.shutdown() }
        let base = "http://127.0.0.1:\(server.port)"
        let curl = LiveServiceTests.curl
        let zip = try DatasetRouteTests.sampleZip(perClass: 20, in: harness.directory)
        _ = try curl(["-X", "POST", "-H", "Content-Type: application/zip", "--data-binary", "@\(zip.path)",
                      base + "/datasets?name=fashion"])
        let created = try Self.json(curl(["-X", "POST", "-H", "Content-Type: application/json", "--data",
                                          #"{"hyperparameters": {"epochs": 4, "seed": 1}}"#, base + "/jobs"]))
        let jobID = try #require(created["id"] as? String, "\(created)")
        let stream = try curl(["-N", base + "/jobs/\(jobID)/events"])
        let kinds = stream.split(separator: "\n").filter { $0.hasPrefix("event: ") }.map { String($0.dropFirst(7)) }
        #expect(kinds.last == "succeeded", "\(kinds)")
        #expect(kinds.filter { $0 == "freeze_search" }.count >= 2, "a report per round and at the end: \(kinds)")
        #expect(kinds.filter { $0 == "probe_epoch" }.count == 4, "\(kinds)")

        let job = try Self.json(curl([base + "/jobs/\(jobID)"]))
        let search = try #require(job["freeze_search"] as? [String: Any], "\(job)")
        let candidates = try #require(search["candidates"] as? [[String: Any]])
        // fmnist-resnet8: the probe, its two stage boundaries and everything.
        #expect(candidates.compactMap { $0["policy"] as? String }.first == "backbone")
        #expect(candidates.count == 4 && candidates.allSatisfy { $0["seconds"] is Double && $0["outcome"] is String })
        #expect(candidates.filter { $0["outcome"] as? String == "chosen" }.count == 1)
        #expect((search["reason"] as? String)?.isEmpty == false)
        let metrics = try Self.json(curl([base + "/jobs/\(jobID)/metrics"]))
        #expect((metrics["freeze_search"] as? [String: Any])?["reason"] as? String == search["reason"] as? String)
        let series = try #require(metrics["metrics"] as? [[String: Any]])
        #expect(series.contains { $0["name"] as? String == "val_accuracy" }, "the model's epochs are a series")
        let model = try Self.json(curl([base + "/models/\(try #require(job["result_model_id"] as? String))"]))
        let provenance = try #require(model["provenance"] as? [String: Any], "\(model)")
        #expect("\(provenance["freeze"] ?? "-")" == "\(search["chosen"] ?? "?")", "\(provenance)")
    }
}
