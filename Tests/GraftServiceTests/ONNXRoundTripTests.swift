// A user's own model in and a fine-tuned one out, over a real socket: an ImageNet classifier as an .onnx file
// (EfficientNet-Lite0 with its pretrained weights, written by Graft's exporter: the import of PyTorch's own exports
// is ONNXParityTests' part) is uploaded (POST /models), fine-tuned with its last convolution trainable
// (POST /jobs), downloaded as ONNX (GET /models/:id/export), and run in ONNX Runtime and OpenVINO, which must give
// the logits Graft gives. Pretrained features, because a job must beat the majority class to succeed, which
// random-weight features do not. Needs the Lite0 weights (scripts/fetch-efficientnet-lite0) and GRAFT_ONNX_VENV
// (scripts/setup-onnx-venv); scripts/test provides both.
import Foundation
import HTTPServer
import Logging
import Testing
@testable import GraftService
@testable import NeuralNetwork
import Tensors

@Suite(.serialized) struct ONNXRoundTripTests {
    static let environment = ProcessInfo.processInfo.environment
    static let efficientNet = TestSupport.repositoryMigrations.deletingLastPathComponent()
        .appendingPathComponent("Models/efficientnet-lite0")
    static let python = environment["GRAFT_ONNX_VENV"].flatMap { $0.isEmpty ? nil : $0 }
    static var available: Bool {
        python != nil && FileManager.default.fileExists(atPath: efficientNet.appendingPathComponent("weights.safetensors").path)
    }

    @Test(.enabled(if: available, "needs GRAFT_ONNX_VENV and Models/efficientnet-lite0's weights (scripts/test provides both)"))
    func importFineTuneAndExportRunInONNXRuntimeAndOpenVINOWithGraftsLogits() throws {
        let harness = try RouteHarness(runner: FineTuningJobRunner(threads: 2))
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
        let json = EndToEndFineTuningTests.json

        // The user's model: an .onnx classifier, here with its input spec and ImageNet labels in its metadata.
        let file = harness.directory.path("mine.onnx")
        try ONNXExport.export(try ModelFolder.load(from: Self.efficientNet), to: file)
        let imported = try json(curl(["-X", "POST", "-H", "Content-Type: application/octet-stream", "--data-binary",
                                      "@\(file.path)", base + "/models?name=my-model"]))
        #expect(imported["id"] as? String == "my-model", "\(imported)")
        #expect((imported["labels"] as? [String])?.count == 1000, "the labels from the file's metadata")

        let zip = try DatasetRouteTests.sampleZip(perClass: 8, in: harness.directory)
        let dataset = try json(curl(["-X", "POST", "-H", "Content-Type: application/zip", "--data-binary",
                                     "@\(zip.path)", base + "/datasets?name=fashion"]))
        let datasetID = try #require(dataset["id"] as? String, "\(dataset)")
        // The new head and the last 1×1 convolution train, so the export carries weights Graft changed.
        let body = """
            {"base_model": "my-model", "dataset": "\(datasetID)",
             "hyperparameters": {"epochs": 2, "seed": 4, "batch_size": 8, "freeze": {"trainable_layers": 2}}}
            """
        let created = try json(curl(["-X", "POST", "-H", "Content-Type: application/json", "--data", body, base + "/jobs"]))
        let jobID = try #require(created["id"] as? String, "\(created)")
        _ = try curl(["-N", base + "/jobs/\(jobID)/events"])
        let job = try json(curl([base + "/jobs/\(jobID)"]))
        #expect(job["status"] as? String == "succeeded", "\(job)")
        let modelID = try #require(job["result_model_id"] as? String, "\(job)")

        let onnx = harness.directory.path("fine-tuned.onnx")
        let status = try curl(["-o", onnx.path, "-w", "%{http_code}", base + "/models/\(modelID)/export?format=onnx"])
        #expect(status == "200", "export answered \(status)")

        // Graft's logits from the fine-tuned model as the service stored it, on a batch of random inputs.
        let record = try harness.service.store.model(id: modelID)
        let model = try ModelFolder.load(from: URL(fileURLWithPath: record.path), context: ComputeContext(threads: 2))
        #expect(model.manifest.labels == ["ankle-boot", "bag", "sandal", "shirt", "sneaker"])
        let baseModel = try ModelFolder.load(from: URL(fileURLWithPath: try harness.service.store.model(id: "my-model").path))
        let tuned = model.graph.stateDict(), original = baseModel.graph.stateDict()
        let changed = model.graph.nodes.filter { $0.op == "Conv2d" }.map(\.name).filter { name in
            tuned["\(name).weight"]?.scalars != original["\(name).weight"]?.scalars
        }
        #expect(changed.count == 1, "fine-tuning changed the convolutions \(changed); the last one alone should train")
        var generator = SeededGenerator(seed: 41)
        let shape = model.manifest.inputShape(batch: 2)
        let input = Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in generator.nextGaussian() })
        let logits = try model.graph.forward(input, mode: .inference)
        let io = harness.directory.path("io.safetensors")
        try Safetensors.write(["input": input, "logits": logits], to: io)

        let script = TestSupport.repositoryMigrations.deletingLastPathComponent()
            .appendingPathComponent("Tests/ONNX/check_export.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(Self.python))
        process.arguments = [script.path, onnx.path, io.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0 && output.contains("all checks passed"), "check_export.py:\n\(output)")
    }
}
