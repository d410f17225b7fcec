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

        return try runChecker(onnx: onnxURL, io: ioURL, name: name)
    }

    /// check_export.py on a file and its inputs with reference logits.
    static func runChecker(onnx: URL, io: URL, name: String) throws -> String {
        let (status, output) = try run(try #require(python), "check_export.py", [onnx.path, io.path])
        print("check_export.py \(name):\n\(output)")
        #expect(status == 0, "check_export.py failed on \(name):\n\(output)")
        return output
    }

    /// Runs one of the scripts in Tests/ONNX; its exit status and its output and errors together.
    static func run(_ executable: String, _ script: String, _ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [repository.appendingPathComponent("Tests/ONNX/\(script)").path] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    /// Debian's python3-torch, the reference for ops whose Graft layers are not on main yet.
    static let systemPython = "/usr/bin/python3"
    static let hasTorch: Bool = {
        guard FileManager.default.isExecutableFile(atPath: systemPython) else { return false }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: systemPython)
        process.arguments = ["-c", "import torch"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    /// The ops being added beside the exporter (their layers are not on main yet), each with non-default attributes,
    /// in the order Tests/ONNX/new_ops_reference.py runs them in PyTorch. The input is N×4×9×11.
    static let newOpsChain: [NodeSpec] = [
        NodeSpec(name: "leaky", op: "LeakyReLU", attributes: ["negative_slope": .float(0.1)], inputs: ["input"]),
        NodeSpec(name: "clip", op: "Clip", attributes: ["min": .float(-1.5)], inputs: ["leaky"]),
        NodeSpec(name: "hs", op: "HardSwish", inputs: ["clip"]),
        NodeSpec(name: "silu", op: "SiLU", inputs: ["hs"]),
        NodeSpec(name: "gmp", op: "GlobalMaxPool", inputs: ["silu"]),
        NodeSpec(name: "hsig", op: "HardSigmoid", attributes: ["alpha": .float(0.2), "beta": .float(0.4)],
                 inputs: ["gmp"]),
        NodeSpec(name: "mul", op: "Mul", inputs: ["silu", "hsig"]),
        NodeSpec(name: "lrn", op: "LRN", attributes: ["size": .int(3), "alpha": .float(0.5), "beta": .float(0.75),
                                                       "k": .float(2)], inputs: ["mul"]),
        NodeSpec(name: "pad", op: "Pad", attributes: ["pads": .ints([1, 2, 0, 1]), "value": .float(-1)], inputs: ["lrn"]),
        NodeSpec(name: "shuffle", op: "ChannelShuffle", attributes: ["groups": .int(2)], inputs: ["pad"]),
        NodeSpec(name: "sig", op: "Sigmoid", inputs: ["shuffle"]),
        NodeSpec(name: "mp", op: "MaxPool2d", attributes: [
            "kernel_size": .int(3), "stride": .int(2), "dilation": .int(2), "ceil_mode": .bool(true),
        ], inputs: ["sig"]),
        NodeSpec(name: "ap", op: "AvgPool2d", attributes: [
            "kernel_size": .int(3), "stride": .int(2), "padding": .int(1), "ceil_mode": .bool(true),
        ], inputs: ["mp"]),
        NodeSpec(name: "sm", op: "Softmax", attributes: ["dim": .int(1)], inputs: ["ap"]),
        NodeSpec(name: "out", op: "Flatten", inputs: ["sm"]),
    ]

    /// The same chain with Graft's own layers (now on main): ONNX Runtime and OpenVINO give Graft's logits.
    @Test(.enabled(if: python != nil, venvSkipReason))
    func newerOpLayersRunInONNXRuntimeAndOpenVINOWithGraftsLogits() throws {
        let graph = try Graph(nodes: Self.newOpsChain, output: "out", seed: 25, context: ComputeContext(threads: 1))
        let spec = InputSpec(channels: 4, height: 9, width: 11, mean: [0, 0, 0, 0], std: [1, 1, 1, 1])
        let model = ModelFolder(manifest: ModelManifest(nodes: graph.nodes, input: spec, labels: [], head: "out"),
                                graph: graph)
        let output = try Self.check(model, seed: 26, name: "newer op layers")
        #expect(output.contains("all checks passed"))
    }

    @Test(.enabled(if: python != nil, venvSkipReason),
          .enabled(if: hasTorch, "/usr/bin/python3 cannot import torch (Debian's python3-torch): no PyTorch reference"))
    func newerOpsGiveTorchsLogitsInONNXRuntimeAndOpenVINO() throws {
        // Stand-in layers with the shapes PyTorch computes (pad 9×11 → 10×14, dilated ceil max pool → 4×6, padded
        // ceil average pool → 3×4); the exporter reads only ops, attributes and shapes.
        let layers: [Layer] = Self.newOpsChain.map { spec in
            switch spec.op {
            case "GlobalMaxPool": return StandInLayer(op: spec.op) { [$0[0][0], $0[0][1], 1, 1] }
            case "Pad": return StandInLayer(op: spec.op) { [$0[0][0], $0[0][1], $0[0][2] + 1, $0[0][3] + 3] }
            case "MaxPool2d": return StandInLayer(op: spec.op) { [$0[0][0], $0[0][1], 4, 6] }
            case "AvgPool2d": return StandInLayer(op: spec.op) { [$0[0][0], $0[0][1], 3, 4] }
            case "Flatten": return Flatten()
            default: return StandInLayer(op: spec.op) { $0[0] }
            }
        }
        let graph = try Graph(nodes: Self.newOpsChain, layers: layers, output: "out", context: ComputeContext(threads: 1))
        let spec = InputSpec(channels: 4, height: 9, width: 11, mean: [0, 0, 0, 0], std: [1, 1, 1, 1])
        let model = ModelFolder(manifest: ModelManifest(nodes: graph.nodes, input: spec, labels: [], head: "out"),
                                graph: graph)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("graft-onnx-new-ops-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let onnx = folder.appendingPathComponent("new-ops.onnx"), io = folder.appendingPathComponent("io.safetensors")
        try ONNXExport.export(model, to: onnx)
        let inputURL = folder.appendingPathComponent("input.safetensors")
        try Safetensors.write(["input": randomTensor([3, 4, 9, 11], seed: 24, scale: 3)], to: inputURL)
        let (status, reference) = try Self.run(Self.systemPython, "new_ops_reference.py", [inputURL.path, io.path])
        try #require(status == 0, "new_ops_reference.py: \(reference)")
        let output = try Self.runChecker(onnx: onnx, io: io, name: "new ops against PyTorch")
        #expect(output.contains("all checks passed"))
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
