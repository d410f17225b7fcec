// ONNX import on models built here with the generated protobuf types: a small valid classifier (numerics checked
// against plain loops), the exporter patterns the translator recognises, and the hostile table — each a typed
// error naming what is wrong.
import Foundation
import Testing
@testable import NeuralNetwork

/// Builders for small ONNX models.
enum ONNXBuilder {
    static func tensor(_ name: String, _ shape: [Int], _ values: [Float]) -> Onnx_TensorProto {
        Onnx_TensorProto.with {
            $0.name = name
            $0.dims = shape.map { Int64($0) }
            $0.dataType = 1
            var data = Data()
            data.appendLittleEndian(values)
            $0.rawData = data
        }
    }

    static func ints(_ name: String, _ values: [Int64]) -> Onnx_TensorProto {
        Onnx_TensorProto.with {
            $0.name = name
            $0.dims = [Int64(values.count)]
            $0.dataType = 7
            $0.int64Data = values
        }
    }

    static func node(_ op: String, _ inputs: [String], _ outputs: [String], name: String? = nil,
                     _ attributes: [Onnx_AttributeProto] = []) -> Onnx_NodeProto {
        Onnx_NodeProto.with {
            $0.opType = op
            $0.input = inputs
            $0.output = outputs
            $0.name = name ?? "\(op)_\(outputs[0])"
            $0.attribute = attributes
        }
    }

    static func attribute(_ name: String, ints: [Int64]) -> Onnx_AttributeProto {
        Onnx_AttributeProto.with { $0.name = name; $0.type = .ints; $0.ints = ints }
    }

    static func attribute(_ name: String, int: Int64) -> Onnx_AttributeProto {
        Onnx_AttributeProto.with { $0.name = name; $0.type = .int; $0.i = int }
    }

    static func attribute(_ name: String, float: Float) -> Onnx_AttributeProto {
        Onnx_AttributeProto.with { $0.name = name; $0.type = .float; $0.f = float }
    }

    static func valueInfo(_ name: String, _ dims: [Int64?]) -> Onnx_ValueInfoProto {
        Onnx_ValueInfoProto.with {
            $0.name = name
            $0.type.tensorType.elemType = 1
            $0.type.tensorType.shape.dim = dims.map { d in
                Onnx_TensorShapeProto.Dimension.with { if let d { $0.dimValue = d } else { $0.dimParam = "batch" } }
            }
        }
    }

    static func model(nodes: [Onnx_NodeProto], initializers: [Onnx_TensorProto], input: [Int64?] = [nil, 3, 8, 8],
                      output: String = "logits", opset: Int64 = 13) -> Onnx_ModelProto {
        Onnx_ModelProto.with {
            $0.irVersion = 8
            $0.producerName = "graft-tests"
            $0.opsetImport = [Onnx_OperatorSetIdProto.with { $0.domain = ""; $0.version = opset }]
            $0.graph.name = "test"
            $0.graph.node = nodes
            $0.graph.initializer = initializers
            $0.graph.input = [valueInfo("x", input)]
            $0.graph.output = [valueInfo(output, [nil, 2])]
        }
    }

    static func values(_ count: Int, seed: UInt64, scale: Float = 0.5) -> [Float] {
        randomTensor([count], seed: seed, scale: scale).scalars
    }

    /// x → Conv 3→4 (3×3, pad 1) → Relu → GlobalAveragePool → Flatten → Gemm 4→2 (transB).
    static func small(opset: Int64 = 13) -> (Onnx_ModelProto, weight: [Float], bias: [Float], fcW: [Float], fcB: [Float]) {
        let w = values(4 * 3 * 9, seed: 1), b = values(4, seed: 2), fw = values(8, seed: 3), fb = values(2, seed: 4)
        let nodes = [
            node("Conv", ["x", "w", "b"], ["c"], name: "/features/features.0/Conv",
                 [attribute("kernel_shape", ints: [3, 3]), attribute("pads", ints: [1, 1, 1, 1])]),
            node("Relu", ["c"], ["r"], name: "/features/features.1/Relu"),
            node("GlobalAveragePool", ["r"], ["p"], name: "/pool/GlobalAveragePool"),
            node("Flatten", ["p"], ["f"], name: "/Flatten", [attribute("axis", int: 1)]),
            node("Gemm", ["f", "fw", "fb"], ["logits"], name: "/fc/Gemm", [attribute("transB", int: 1)]),
        ]
        let inits = [tensor("w", [4, 3, 3, 3], w), tensor("b", [4], b), tensor("fw", [2, 4], fw), tensor("fb", [2], fb)]
        return (model(nodes: nodes, initializers: inits, opset: opset), w, b, fw, fb)
    }

    static func importing(_ model: Onnx_ModelProto, name: String = "test.onnx") throws -> (ModelFolder, ONNXImport.Summary) {
        try ONNXImport.importModel(data: try model.serializedBytes(), name: name)
    }
}

/// The reference of the small model in plain loops.
private func smallReference(_ x: Tensor, _ w: [Float], _ b: [Float], _ fw: [Float], _ fb: [Float]) -> [Float] {
    let n = x.shape[0], h = 8, wd = 8
    var out: [Float] = []
    for s in 0..<n {
        var pooled = [Float](repeating: 0, count: 4)
        for o in 0..<4 {
            var sum: Float = 0
            for i in 0..<h { for j in 0..<wd {
                var acc = b[o]
                for c in 0..<3 { for ki in 0..<3 { for kj in 0..<3 {
                    let y = i + ki - 1, z = j + kj - 1
                    guard y >= 0, y < h, z >= 0, z < wd else { continue }
                    acc += w[((o * 3 + c) * 3 + ki) * 3 + kj] * x.scalars[((s * 3 + c) * h + y) * wd + z]
                } } }
                sum += max(acc, 0)
            } }
            pooled[o] = sum / Float(h * wd)
        }
        for k in 0..<2 { out.append(fb[k] + (0..<4).map { fw[k * 4 + $0] * pooled[$0] }.reduce(0, +)) }
    }
    return out
}

@Suite struct ONNXImportTests {
    @Test func smallClassifierMatchesLoops() throws {
        let (model, w, b, fw, fb) = ONNXBuilder.small()
        let (folder, summary) = try ONNXBuilder.importing(model)
        #expect(folder.manifest.nodes.map(\.name) == ["features_0", "features_1", "pool", "Flatten", "fc"])
        #expect(folder.manifest.head == "fc")
        #expect(folder.manifest.labels == ["class 0", "class 1"])
        #expect(folder.manifest.input.height == 8 && folder.manifest.input.channels == 3)
        #expect(folder.manifest.provenance["onnx_sha256"]?.count == 64)
        #expect(summary.opset == 13)
        let x = randomTensor([3, 3, 8, 8], seed: 9)
        let logits = try folder.graph.forward(x, mode: .inference)
        expectClose(logits, Tensor(shape: [3, 2], scalars: smallReference(x, w, b, fw, fb)), 1e-5, "small ONNX classifier")
    }

    @Test func savedFolderLoadsAndPredictsTheSame() throws {
        let (model, _, _, _, _) = ONNXBuilder.small()
        let (folder, _) = try ONNXBuilder.importing(model)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("onnx-import-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try folder.save(to: dir)
        let loaded = try ModelFolder.load(from: dir)
        let x = randomTensor([2, 3, 8, 8], seed: 5)
        expectClose(try loaded.graph.forward(x, mode: .inference), try folder.graph.forward(x, mode: .inference), 0, "reloaded")
    }

    /// torch.onnx writes x·sigmoid(x) for SiLU, MatMul + Add for Linear, a Pad before a Conv for asymmetric padding,
    /// Shape/Gather/Unsqueeze/Concat feeding a Reshape for flatten with a dynamic batch, and a final Softmax.
    @Test func exporterPatternsFoldIntoEngineLayers() throws {
        let w = ONNXBuilder.values(4 * 3 * 9, seed: 1), fw = ONNXBuilder.values(8, seed: 3), fb = ONNXBuilder.values(2, seed: 4)
        let nodes = [
            ONNXBuilder.node("Pad", ["x", "pads", "zero"], ["padded"], name: "pad"),
            ONNXBuilder.node("Conv", ["padded", "w"], ["c"], name: "conv", [ONNXBuilder.attribute("strides", ints: [2, 2])]),
            ONNXBuilder.node("Sigmoid", ["c"], ["s"], name: "sig"),
            ONNXBuilder.node("Mul", ["c", "s"], ["silu"], name: "silu"),
            ONNXBuilder.node("ReduceMean", ["silu"], ["m"], name: "mean",
                             [ONNXBuilder.attribute("axes", ints: [2, 3]), ONNXBuilder.attribute("keepdims", int: 1)]),
            ONNXBuilder.node("Shape", ["m"], ["shape"], name: "shape"),
            ONNXBuilder.node("Gather", ["shape", "zeroIndex"], ["n"], name: "gather", [ONNXBuilder.attribute("axis", int: 0)]),
            ONNXBuilder.node("Unsqueeze", ["n", "axes0"], ["n1"], name: "unsqueeze"),
            ONNXBuilder.node("Concat", ["n1", "minusOne"], ["target"], name: "concat", [ONNXBuilder.attribute("axis", int: 0)]),
            ONNXBuilder.node("Reshape", ["m", "target"], ["flat"], name: "reshape"),
            ONNXBuilder.node("MatMul", ["flat", "fwT"], ["mm"], name: "fc_matmul"),
            ONNXBuilder.node("Add", ["mm", "fb"], ["z"], name: "fc_add"),
            ONNXBuilder.node("Softmax", ["z"], ["logits"], name: "softmax", [ONNXBuilder.attribute("axis", int: 1)]),
        ]
        var fwT = [Float](repeating: 0, count: 8)
        for k in 0..<2 { for i in 0..<4 { fwT[i * 2 + k] = fw[k * 4 + i] } }
        let inits = [
            ONNXBuilder.ints("pads", [0, 0, 0, 1, 0, 0, 1, 0]), ONNXBuilder.tensor("zero", [], [0]),
            ONNXBuilder.tensor("w", [4, 3, 3, 3], w), ONNXBuilder.ints("zeroIndex", [0]), ONNXBuilder.ints("axes0", [0]),
            ONNXBuilder.ints("minusOne", [-1]), ONNXBuilder.tensor("fwT", [4, 2], fwT), ONNXBuilder.tensor("fb", [2], fb),
        ]
        let (folder, summary) = try ONNXBuilder.importing(ONNXBuilder.model(nodes: nodes, initializers: inits))
        let ops = folder.manifest.nodes.map(\.op)
        #expect(ops == ["Conv2d", "SiLU", "GlobalAvgPool", "Flatten", "Linear"], "\(ops)")
        #expect(folder.manifest.nodes[0].attributes["padding"] == .ints([0, 1, 1, 0]))
        #expect(folder.manifest.nodes[4].attributes["bias"] == .bool(true))
        #expect(summary.notes.contains { $0.contains("Softmax") })
        #expect(summary.foldedConstants > 0)
    }

    // MARK: - The hostile table

    func problem(_ body: () throws -> Any) -> ONNXProblem? {
        do { _ = try body(); return nil } catch let error as ONNXError { return error.reason } catch {
            Issue.record("not an ONNXError: \(error)")
            return nil
        }
    }

    @Test func truncatedProtobufIsMalformed() throws {
        let bytes: [UInt8] = try ONNXBuilder.small().0.serializedBytes()
        for cut in [bytes.count / 2, bytes.count - 3, 7] {
            let reason = problem { try ONNXImport.importModel(data: Data(bytes.prefix(cut)), name: "cut.onnx") }
            switch reason {
            case .malformed?, .notONNX?: break
            default: Issue.record("cut at \(cut): \(String(describing: reason))")
            }
        }
    }

    @Test func otherFormatsAreNamed() {
        let cases: [([UInt8], String)] = [
            ([0x50, 0x4B, 0x03, 0x04, 0, 0, 0, 0, 0, 0], "zip"), ([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "PNG"),
            (Array("{\"a\": 1}".utf8), "JSON"), ([0x80, 0x02, 0x7D, 0x71], "pickle"),
        ]
        for (bytes, kind) in cases {
            guard case .notONNX(let detail)? = problem({ try ONNXImport.importModel(data: Data(bytes), name: "x.onnx") }) else {
                Issue.record("\(kind) not refused as not ONNX"); continue
            }
            #expect(detail.contains(kind), "\(detail)")
        }
        // random bytes that happen to parse as protobuf fields still are no model
        #expect(problem { try ONNXImport.importModel(data: Data([0x08, 0x01]), name: "x.onnx") } != nil)
    }

    @Test func initializerSizeMustMatchItsShape() throws {
        var (model, _, _, _, _) = ONNXBuilder.small()
        model.graph.initializer[0].rawData = model.graph.initializer[0].rawData.prefix(100)
        guard case .tensorSize(let tensor, let detail)? = problem({ try ONNXBuilder.importing(model) }) else {
            Issue.record("not a size error"); return
        }
        #expect(tensor == "w" && detail.contains("432 bytes") && detail.contains("100"), "\(detail)")
    }

    @Test func tenGigabyteDeclarationIsRefusedBeforeAllocating() throws {
        var (model, _, _, _, _) = ONNXBuilder.small()
        model.graph.initializer[0].dims = [2_500_000_000 / 27 + 1, 3, 3, 3]
        guard case .tensorSize? = problem({ try ONNXBuilder.importing(model) }) else { Issue.record("not refused"); return }
        // also as external data
        model.graph.initializer[0].rawData = Data()
        model.graph.initializer[0].dataLocation = .external
        model.graph.initializer[0].externalData = [.with { $0.key = "location"; $0.value = "weights.bin" }]
        #expect(problem({ try ONNXBuilder.importing(model) }) != nil)
    }

    @Test func cycleIsRefusedNamingTheNode() throws {
        var (model, _, _, _, _) = ONNXBuilder.small()
        model.graph.node[0].input[0] = "f"  // the conv now reads the flatten's output, which comes later
        guard case .cycleOrMissing(let node, let input)? = problem({ try ONNXBuilder.importing(model) }) else {
            Issue.record("not refused"); return
        }
        #expect(node == "/features/features.0/Conv" && input == "f")
    }

    @Test func unknownOperatorNamesNodeOpAndOpset() throws {
        var (model, _, _, _, _) = ONNXBuilder.small()
        model.graph.node[1].opType = "Erf"
        guard case .unsupportedOperator(let node, let op, let opset, _)? = problem({ try ONNXBuilder.importing(model) }) else {
            Issue.record("not refused"); return
        }
        #expect(node == "/features/features.1/Relu" && op == "Erf" && opset == 13)
    }

    @Test func unknownAttributeAndUnsupportedValuesAreNamed() throws {
        var (model, _, _, _, _) = ONNXBuilder.small()
        model.graph.node[0].attribute.append(ONNXBuilder.attribute("mystery", int: 1))
        guard case .unsupportedAttribute(_, "Conv", "mystery", _, 13, _)? = problem({ try ONNXBuilder.importing(model) }) else {
            Issue.record("unknown attribute not refused"); return
        }
        (model, _, _, _, _) = ONNXBuilder.small()
        model.graph.node[4].attribute.append(ONNXBuilder.attribute("transA", int: 1))
        guard case .unsupportedAttribute(_, "Gemm", "transA", _, _, _)? = problem({ try ONNXBuilder.importing(model) }) else {
            Issue.record("transA not refused"); return
        }
    }

    @Test func unsupportedOpsetIsRefused() throws {
        let model = ONNXBuilder.small(opset: 21).0
        guard case .unsupportedOpset(_, 21, _)? = problem({ try ONNXBuilder.importing(model) }) else {
            Issue.record("not refused"); return
        }
    }

    @Test func externalDataMustStayInTheModelFolder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("onnx-external-\(UUID().uuidString)")
        let inner = dir.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: inner, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var (model, w, _, _, _) = ONNXBuilder.small()
        var bytes = Data()
        bytes.appendLittleEndian(w)
        try bytes.write(to: dir.appendingPathComponent("outside.bin"))
        try bytes.write(to: inner.appendingPathComponent("weights.bin"))
        try FileManager.default.createSymbolicLink(at: inner.appendingPathComponent("link.bin"),
                                                   withDestinationURL: dir.appendingPathComponent("outside.bin"))
        model.graph.initializer[0].rawData = Data()
        model.graph.initializer[0].dataLocation = .external
        let onnx = inner.appendingPathComponent("model.onnx")
        for (location, allowed) in [("weights.bin", true), ("../outside.bin", false), ("/etc/passwd", false), ("link.bin", false)] {
            model.graph.initializer[0].externalData = [.with { $0.key = "location"; $0.value = location }]
            try (model.serializedBytes() as Data).write(to: onnx)
            let reason = problem { try ONNXImport.importModel(contentsOf: onnx) }
            if allowed {
                #expect(reason == nil, "\(location): \(String(describing: reason))")
            } else {
                guard case .externalData? = reason else { Issue.record("\(location) not refused: \(String(describing: reason))"); continue }
            }
        }
        // an offset past the end of the file
        model.graph.initializer[0].externalData = [.with { $0.key = "location"; $0.value = "weights.bin" },
                                                   .with { $0.key = "offset"; $0.value = "400" }]
        try (model.serializedBytes() as Data).write(to: onnx)
        guard case .externalData? = problem({ try ONNXImport.importModel(contentsOf: onnx) }) else {
            Issue.record("offset past the end not refused"); return
        }
    }

    @Test func wrongInputsAndLabelsAreRefused() throws {
        var (model, _, _, _, _) = ONNXBuilder.small()
        model.graph.input.append(ONNXBuilder.valueInfo("y", [nil, 3, 8, 8]))
        guard case .inputs? = problem({ try ONNXBuilder.importing(model) }) else { Issue.record("two inputs accepted"); return }
        let small = ONNXBuilder.small().0
        let bytes: Data = try small.serializedBytes()
        guard case .inputs? = problem({
            try ONNXImport.importModel(data: bytes, name: "x.onnx", options: .init(labels: ["a", "b", "c"]))
        }) else { Issue.record("3 labels for 2 classes accepted"); return }
        guard case .inputs? = problem({
            try ONNXImport.importModel(data: bytes, name: "x.onnx", options: .init(size: 224))
        }) else { Issue.record("--size contradicting the file accepted"); return }
    }
}
