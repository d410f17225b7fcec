// The independent check of ONNX export: Tests/ONNX/check_export.py runs PyPI's onnx checker (full check), ONNX
// Runtime and OpenVINO on the exported file and compares their logits with the ones Graft computed. Runs when
// GRAFT_ONNX_VENV names the python of scripts/setup-onnx-venv's venv (scripts/test sets it); skipped otherwise.
import Foundation
import Testing
@testable import NeuralNetwork

@Suite(.serialized) struct ONNXExportRuntimeTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let python = ProcessInfo.processInfo.environment["GRAFT_ONNX_VENV"].flatMap { $0.isEmpty ? nil : $0 }
    static let venvSkipReason = Comment(rawValue: "set GRAFT_ONNX_VENV to var/onnx-venv/bin/python (made by "
        + "scripts/setup-onnx-venv) to run ONNX Runtime and OpenVINO on the export")
    static let efficientNet = repository.appendingPathComponent("Models/efficientnet-lite0")
    static var hasEfficientNetWeights: Bool {
        FileManager.default.fileExists(atPath: efficientNet.appendingPathComponent(ModelFolder.weightsName).path)
    }

    /// Exports `model`, runs Graft on a batch of random inputs, and has the Python script compare the runtimes'
    /// logits with Graft's. Returns the script's report.
    static func check(_ model: ModelFolder, batch: Int = 3, seed: UInt64, name: String) throws -> String {
        let python = try #require(python)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("graft-onnx-export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let onnxURL = folder.appendingPathComponent("\(name).onnx")
        try ONNXExport.export(model, to: onnxURL)
        let input = randomTensor(model.manifest.inputShape(batch: batch), seed: seed)
        let logits = try model.graph.forward(input, mode: .inference)
        let ioURL = folder.appendingPathComponent("io.safetensors")
        try Safetensors.write(["input": input, "logits": logits], to: ioURL)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [repository.appendingPathComponent("Tests/ONNX/check_export.py").path, onnxURL.path, ioURL.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        print("check_export.py \(name):\n\(output)")
        #expect(process.terminationStatus == 0, "check_export.py failed on \(name):\n\(output)")
        return output
    }

    @Test(.enabled(if: python != nil, venvSkipReason))
    func resnet8RunsInONNXRuntimeAndOpenVINOWithGraftsLogits() throws {
        let output = try Self.check(try ONNXExportTests.resnet8(), seed: 21, name: "resnet8")
        #expect(output.contains("all checks passed"))
    }

    @Test(.enabled(if: python != nil, venvSkipReason))
    func everyOpGraphRunsInONNXRuntimeAndOpenVINOWithGraftsLogits() throws {
        let output = try Self.check(try ONNXExportTests.everyOp(), seed: 22, name: "every-op")
        #expect(output.contains("all checks passed"))
    }

    @Test(.enabled(if: python != nil, venvSkipReason),
          .enabled(if: hasEfficientNetWeights,
                   "Models/efficientnet-lite0/weights.safetensors is absent: run scripts/fetch-efficientnet-lite0"))
    func efficientNetLite0RunsInONNXRuntimeAndOpenVINOWithGraftsLogits() throws {
        let model = try ModelFolder.load(from: Self.efficientNet, context: ComputeContext(threads: 2))
        let output = try Self.check(model, batch: 2, seed: 23, name: "efficientnet-lite0")
        #expect(output.contains("all checks passed"))
    }
}
