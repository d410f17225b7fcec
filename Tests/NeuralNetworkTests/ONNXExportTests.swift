// ONNX export: the file decodes back (with the generated messages, through the importer's reader) into opset 13 with
// a dynamic batch, every weight as a raw float32 initializer, BatchNorm folded by the formula, the ops mapped one by
// one and the manifest in the metadata; and, with the ONNX venv, ONNX Runtime and OpenVINO give Graft's logits.
import Foundation
import SwiftProtobuf
import Testing
@testable import NeuralNetwork

@Suite struct ONNXExportTests {
    // MARK: - Models

    /// BatchNorm buffers and affine parameters away from 1/0, so that a wrong fold shows.
    static func randomiseNorms(_ graph: Graph, seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        for layer in graph.layers {
            guard let norm = layer as? BatchNorm2d else { continue }
            for i in 0..<norm.channels {
                norm.weight.value.scalars[i] = 0.5 + generator.nextUniform()
                norm.bias.value.scalars[i] = generator.nextUniform() - 0.5
                norm.runningMean.value.scalars[i] = generator.nextUniform() - 0.5
                norm.runningVariance.value.scalars[i] = 0.5 + generator.nextUniform()
            }
        }
    }

    static func resnet8() throws -> ModelFolder {
        let nodes = Architectures.resnet8(inputChannels: 1, classes: 10)
        let graph = try Graph(nodes: nodes, output: "fc", seed: 7, context: ComputeContext(threads: 1))
        randomiseNorms(graph, seed: 8)
        let spec = InputSpec(channels: 1, height: 28, width: 28, resize: .stretch, mean: [0.286], std: [0.353])
        let manifest = ModelManifest(nodes: nodes, input: spec, labels: (0..<10).map { "class \($0)" }, head: "fc",
                                     provenance: ["base": "resnet8-test"], metrics: ["accuracy": 0.5])
        return ModelFolder(manifest: manifest, graph: graph)
    }

    /// Every op the engine on main has, with its non-default attributes: a BatchNorm after a conv that is read
    /// twice (not folded) and one after a ReLU, asymmetric padding, a channel slice, and a Softmax after the head.
    static let everyOpNodes: [NodeSpec] = [
        NodeSpec(name: "conv1", op: "Conv2d", attributes: [
            "in_channels": .int(3), "out_channels": .int(8), "kernel_size": .int(3), "stride": .int(1),
            "padding": .ints([1, 0, 2, 1]), "bias": .bool(true),
        ], inputs: ["input"]),
        NodeSpec(name: "bn1", op: "BatchNorm2d", attributes: ["num_features": .int(8)], inputs: ["conv1"]),
        NodeSpec(name: "relu6", op: "ReLU6", inputs: ["bn1"]),
        NodeSpec(name: "conv2", op: "Conv2d", attributes: [
            "in_channels": .int(8), "out_channels": .int(8), "kernel_size": .int(3), "padding": .int(1),
            "groups": .int(2), "dilation": .int(1), "bias": .bool(false),
        ], inputs: ["relu6"]),
        NodeSpec(name: "bn2", op: "BatchNorm2d", attributes: ["num_features": .int(8)], inputs: ["conv2"]),
        NodeSpec(name: "add", op: "Add", inputs: ["bn2", "conv2"]),
        NodeSpec(name: "relu", op: "ReLU", inputs: ["add"]),
        NodeSpec(name: "bn3", op: "BatchNorm2d", attributes: ["num_features": .int(8)], inputs: ["relu"]),
        NodeSpec(name: "maxpool", op: "MaxPool2d", attributes: [
            "kernel_size": .int(3), "stride": .int(2), "padding": .int(1),
        ], inputs: ["bn3"]),
        NodeSpec(name: "avgpool", op: "AvgPool2d", attributes: [
            "kernel_size": .int(3), "stride": .int(1), "padding": .int(1), "count_include_pad": .bool(false),
        ], inputs: ["maxpool"]),
        NodeSpec(name: "lppool", op: "LPPool2d", attributes: ["norm_type": .int(2), "kernel_size": .int(2)],
                 inputs: ["maxpool"]),
        NodeSpec(name: "slice", op: "Slice", attributes: ["dim": .int(1), "start": .int(2), "end": .int(6)],
                 inputs: ["avgpool"]),
        NodeSpec(name: "gap1", op: "GlobalAvgPool", inputs: ["slice"]),
        NodeSpec(name: "gap2", op: "GlobalAvgPool", inputs: ["lppool"]),
        NodeSpec(name: "concat", op: "Concat", attributes: ["dim": .int(1)], inputs: ["gap1", "gap2"]),
        NodeSpec(name: "flatten", op: "Flatten", inputs: ["concat"]),
        NodeSpec(name: "dropout", op: "Dropout", attributes: ["p": .float(0.2)], inputs: ["flatten"]),
        NodeSpec(name: "fc", op: "Linear", attributes: ["in_features": .int(12), "out_features": .int(5)],
                 inputs: ["dropout"]),
        NodeSpec(name: "softmax", op: "Softmax", inputs: ["fc"]),
    ]

    static func everyOp(head: String = "fc") throws -> ModelFolder {
        let graph = try Graph(nodes: everyOpNodes, output: head, seed: 11, context: ComputeContext(threads: 1))
        randomiseNorms(graph, seed: 12)
        let spec = InputSpec(channels: 3, height: 20, width: 18, mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3],
                             cropFraction: 0.875)
        let manifest = ModelManifest(nodes: everyOpNodes, input: spec, labels: ["a", "b", "c", "d", "e"], head: head)
        return ModelFolder(manifest: manifest, graph: graph)
    }

    /// The exported bytes decoded again with the generated swift-protobuf messages (initializers included: the
    /// importer's reader converts those one at a time and keeps none in its message), after the importer's checks.
    static func decode(_ model: ModelFolder) throws -> Onnx_ModelProto {
        let bytes = try ONNXExport.export(model)
        _ = try ONNXFile(data: bytes, url: URL(fileURLWithPath: "export.onnx"), externalDataFolder: nil)
        return try Onnx_ModelProto(serializedBytes: bytes)
    }

    static func floats(_ tensor: Onnx_TensorProto) throws -> [Float] {
        #expect(tensor.dataType == 1, "\(tensor.name) is float32")
        #expect(tensor.floatData.isEmpty, "\(tensor.name): values in raw_data only")
        let count = tensor.dims.reduce(1, *)
        try #require(tensor.rawData.count == 4 * Int(count), "\(tensor.name): 4 bytes per value of \(tensor.dims)")
        let bytes = [UInt8](tensor.rawData)
        return (0..<Int(count)).map { i in
            Float(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[4 * i + $1]) << (8 * $1) })
        }
    }

    static func dims(_ info: Onnx_ValueInfoProto) -> [String] {
        info.type.tensorType.shape.dim.map {
            switch $0.value {
            case .dimParam(let name)?: return name
            case .dimValue(let value)?: return "\(value)"
            case nil: return "?"
            }
        }
    }

    // MARK: - Structure

    @Test func resnet8HasOpsetDynamicBatchFoldedNormsAndMetadata() throws {
        let model = try Self.resnet8()
        let proto = try Self.decode(model)
        #expect(proto.irVersion == 8 && proto.producerName == "graft")
        #expect(proto.opsetImport.map { "\($0.domain):\($0.version)" } == [":13"])
        let graph = proto.graph
        #expect(graph.input.map(\.name) == ["input"] && graph.output.map(\.name) == ["logits"])
        #expect(Self.dims(graph.input[0]) == ["batch", "1", "28", "28"])
        #expect(Self.dims(graph.output[0]) == ["batch", "10"])
        #expect(graph.input[0].type.tensorType.elemType == 1)

        // Every conv of ResNet-8 (stem, two per block, two shortcuts) is followed by its own BatchNorm: all nine fold.
        let ops = graph.node.map(\.opType)
        #expect(ops.filter { $0 == "Conv" }.count == 9)
        #expect(!ops.contains("BatchNormalization"))
        #expect(ops.filter { $0 == "Add" }.count == 3 && ops.filter { $0 == "Relu" }.count == 7)
        #expect(ops.suffix(3) == ["GlobalAveragePool", "Flatten", "Gemm"])
        #expect(graph.node.last?.output == ["logits"])

        // Initializers: each conv's weight and (folded) bias, the Linear's; nothing of the norms.
        let initializers = Dictionary(uniqueKeysWithValues: graph.initializer.map { ($0.name, $0) })
        #expect(initializers.count == 9 * 2 + 2)
        #expect(!initializers.keys.contains { $0.contains("bn") })
        #expect(Set(graph.node.flatMap(\.input)).isSuperset(of: initializers.keys), "every initializer is read")

        // The fold, from the formula: w' = w·γ/√(σ² + ε), b' = (0 − μ)·γ/√(σ² + ε) + β (ResNet-8's convs have no bias).
        let conv = try #require(model.graph.layers[0] as? Conv2d)
        let norm = try #require(model.graph.layers[1] as? BatchNorm2d)
        let weight = try Self.floats(try #require(initializers["conv1.weight"]))
        let bias = try Self.floats(try #require(initializers["conv1.bias"]))
        #expect(initializers["conv1.weight"]?.dims == [16, 1, 3, 3])
        let perFilter = 9
        for o in 0..<16 {
            let scale = norm.weight.value.scalars[o] / (norm.runningVariance.value.scalars[o] + norm.epsilon).squareRoot()
            for k in 0..<perFilter {
                #expect(abs(weight[o * perFilter + k] - conv.weight.value.scalars[o * perFilter + k] * scale) <= 1e-6)
            }
            let expected = -norm.runningMean.value.scalars[o] * scale + norm.bias.value.scalars[o]
            #expect(abs(bias[o] - expected) <= 1e-6)
        }
        let fc = try #require(model.graph.layers.last as? Linear)
        #expect(try Self.floats(try #require(initializers["fc.weight"])) == fc.weight.value.scalars)
        #expect(initializers["fc.weight"]?.dims == [10, 64])
        let gemm = try #require(graph.node.last)
        #expect(gemm.attribute.first { $0.name == "transB" }?.i == 1)

        // Metadata: what graft import onnx needs to restore the model's contract.
        let metadata = Dictionary(uniqueKeysWithValues: proto.metadataProps.map { ($0.key, $0.value) })
        #expect(metadata["graft.head"] == "fc" && metadata["graft.format_version"] == "1")
        let input = try JSONDecoder().decode(InputSpec.self, from: Data(try #require(metadata["graft.input"]).utf8))
        #expect(input == model.manifest.input)
        let labels = try JSONDecoder().decode([String].self, from: Data(try #require(metadata["graft.labels"]).utf8))
        #expect(labels == model.manifest.labels)
        #expect(metadata["graft.provenance"] == #"{"base":"resnet8-test"}"#)
        #expect(metadata["graft.metrics"] == #"{"accuracy":0.5}"#)
    }

    @Test func everyOpOnMainMapsToItsONNXOperator() throws {
        let model = try Self.everyOp()
        let proto = try Self.decode(model)
        let graph = proto.graph
        #expect(Self.dims(graph.input[0]) == ["batch", "3", "20", "18"] && Self.dims(graph.output[0]) == ["batch", "5"])
        // bn1 folds into conv1; conv2 is read by bn2 and add, so bn2 stays; bn3 follows a ReLU; the Dropout is
        // omitted; the Softmax after the head is not exported (the output is the logits).
        #expect(graph.node.map(\.opType) == [
            "Conv", "Clip", "Conv", "BatchNormalization", "Add", "Relu", "BatchNormalization", "MaxPool",
            "AveragePool", "LpPool", "Slice", "GlobalAveragePool", "GlobalAveragePool", "Concat", "Flatten", "Gemm",
        ])
        func node(_ name: String) throws -> Onnx_NodeProto { try #require(graph.node.first { $0.name == name }) }
        func ints(_ node: Onnx_NodeProto, _ name: String) -> [Int64]? { node.attribute.first { $0.name == name }?.ints }
        func int(_ node: Onnx_NodeProto, _ name: String) -> Int64? { node.attribute.first { $0.name == name }?.i }
        let initializers = Dictionary(uniqueKeysWithValues: graph.initializer.map { ($0.name, $0) })
        func values(_ name: String) throws -> [Float] { try Self.floats(try #require(initializers[name], "\(name)")) }
        func int64s(_ name: String) throws -> [Int64] {
            let bytes = [UInt8](try #require(initializers[name], "\(name)").rawData)
            return stride(from: 0, to: bytes.count, by: 8).map { i in
                Int64(bitPattern: (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[i + $1]) << (8 * $1) })
            }
        }

        let conv1 = try node("conv1")
        #expect(ints(conv1, "pads") == [1, 0, 2, 1], "Graft's [top, left, bottom, right] is ONNX's order")
        #expect(conv1.output == ["bn1"], "the folded norm's value is the conv's output")
        #expect(ints(conv1, "kernel_shape") == [3, 3] && ints(conv1, "strides") == [1, 1] && int(conv1, "group") == 1)
        let conv2 = try node("conv2")
        #expect(int(conv2, "group") == 2 && conv2.input.count == 2, "no bias: two inputs")
        #expect(try node("relu6").input == ["bn1", "relu6.min", "relu6.max"])
        #expect(try values("relu6.min") == [0] && values("relu6.max") == [6])
        let bn2 = try node("bn2")
        #expect(bn2.input == ["conv2", "bn2.weight", "bn2.bias", "bn2.running_mean", "bn2.running_var"])
        let norm = try #require(model.graph.layers[4] as? BatchNorm2d)
        #expect(try values("bn2.running_var") == norm.runningVariance.value.scalars)
        #expect(abs((bn2.attribute.first { $0.name == "momentum" }?.f ?? 0) - 0.9) < 1e-6)
        #expect(abs((bn2.attribute.first { $0.name == "epsilon" }?.f ?? 0) - 1e-5) < 1e-9)
        #expect(try node("add").input == ["bn2", "conv2"])
        let maxPool = try node("maxpool")
        #expect(ints(maxPool, "kernel_shape") == [3, 3] && ints(maxPool, "strides") == [2, 2])
        #expect(ints(maxPool, "pads") == [1, 1, 1, 1] && int(maxPool, "ceil_mode") == nil)
        let avgPool = try node("avgpool")
        #expect(int(avgPool, "count_include_pad") == 0 && ints(avgPool, "strides") == [1, 1])
        let lpPool = try node("lppool")
        #expect(int(lpPool, "p") == 2 && ints(lpPool, "kernel_shape") == [2, 2] && ints(lpPool, "strides") == [2, 2])
        #expect(try node("slice").input == ["avgpool", "slice.starts", "slice.ends", "slice.axes"])
        #expect(try int64s("slice.starts") == [2] && int64s("slice.ends") == [6] && int64s("slice.axes") == [1])
        let concat = try node("concat"), flatten = try node("flatten")
        #expect(int(concat, "axis") == 1 && int(flatten, "axis") == 1)
        #expect(try node("fc").input == ["flatten", "fc.weight", "fc.bias"], "the Dropout is skipped")
        #expect(try node("fc").output == ["logits"])
    }

    @Test func aSoftmaxHeadExportsItsLogitsAndADropoutHeadAnIdentity() throws {
        let softmaxHead = try Self.decode(try Self.everyOp(head: "softmax")).graph
        #expect(!softmaxHead.node.contains { $0.opType == "Softmax" })
        #expect(softmaxHead.node.last?.name == "fc" && softmaxHead.node.last?.output == ["logits"])

        let dropoutHead = try Self.decode(try Self.everyOp(head: "dropout")).graph
        #expect(dropoutHead.node.last?.opType == "Identity" && dropoutHead.node.last?.input == ["flatten"])
        #expect(dropoutHead.node.last?.output == ["logits"])
        #expect(ONNXExportTests.dims(dropoutHead.output[0]) == ["batch", "12"])
    }

    /// Ops whose layers are being added beside this exporter: mapped from their `model.json` attributes, checked
    /// here on the builder directly (the graph's layers are stand-ins with the same shapes).
    @Test func opsOfNewLayersMapFromTheirAttributes() throws {
        let nodes: [NodeSpec] = [
            NodeSpec(name: "hs", op: "HardSwish", inputs: ["input"]),
            NodeSpec(name: "silu", op: "SiLU", inputs: ["hs"]),
            NodeSpec(name: "hsig", op: "HardSigmoid", attributes: ["alpha": .float(0.2), "beta": .float(0.4)],
                     inputs: ["silu"]),
            NodeSpec(name: "leaky", op: "LeakyReLU", attributes: ["negative_slope": .float(0.1)], inputs: ["hsig"]),
            NodeSpec(name: "clip", op: "Clip", attributes: ["max": .float(2.5)], inputs: ["leaky"]),
            NodeSpec(name: "sig", op: "Sigmoid", inputs: ["clip"]),
            NodeSpec(name: "mul", op: "Mul", inputs: ["sig", "gmp"]),
            NodeSpec(name: "lrn", op: "LRN", attributes: ["size": .int(3), "alpha": .float(2e-4), "k": .float(2)],
                     inputs: ["mul"]),
            NodeSpec(name: "pad", op: "Pad", attributes: ["pads": .ints([1, 2, 3, 4]), "value": .float(-1)],
                     inputs: ["lrn"]),
            NodeSpec(name: "shuffle", op: "ChannelShuffle", attributes: ["groups": .int(2)], inputs: ["pad"]),
            NodeSpec(name: "mp", op: "MaxPool2d", attributes: [
                "kernel_size": .int(3), "stride": .int(2), "ceil_mode": .bool(true), "dilation": .int(2),
            ], inputs: ["shuffle"]),
            NodeSpec(name: "ap", op: "AvgPool2d", attributes: ["kernel_size": .int(2), "ceil_mode": .bool(true)],
                     inputs: ["mp"]),
            NodeSpec(name: "sm", op: "Softmax", attributes: ["dim": .int(1)], inputs: ["ap"]),
            NodeSpec(name: "out", op: "Flatten", inputs: ["sm"]),
        ]
        var ordered = nodes
        ordered.insert(NodeSpec(name: "gmp", op: "GlobalMaxPool", inputs: ["clip"]), at: 5)
        // Stand-in layers carrying each op and a shape rule (the builder reads ops, attributes and shapes only).
        let stand: [Layer] = ordered.map { spec in
            switch spec.op {
            case "GlobalMaxPool": return StandInLayer(op: spec.op) { [$0[0][0], $0[0][1], 1, 1] }
            case "Pad": return StandInLayer(op: spec.op) { [$0[0][0], $0[0][1], $0[0][2] + 1 + 3, $0[0][3] + 2 + 4] }
            case "Flatten": return Flatten()
            default: return StandInLayer(op: spec.op) { $0[0] }
            }
        }
        let graph = try Graph(nodes: ordered, layers: stand, output: "out", context: ComputeContext(threads: 1))
        let builder = try ONNXGraphBuilder(graph: graph, inputShape: [1, 4, 1, 1])
        try builder.build()
        let onnx = builder.proto
        func node(_ name: String) throws -> Onnx_NodeProto { try #require(onnx.node.first { $0.name == name }, "\(name)") }
        func float(_ node: Onnx_NodeProto, _ name: String) -> Float? { node.attribute.first { $0.name == name }?.f }
        func ints(_ node: Onnx_NodeProto, _ name: String) -> [Int64]? { node.attribute.first { $0.name == name }?.ints }

        #expect(onnx.node.map(\.opType) == [
            "HardSigmoid", "Mul", "Sigmoid", "Mul", "HardSigmoid", "LeakyRelu", "Clip", "GlobalMaxPool", "Sigmoid", "Mul",
            "LRN", "Pad", "Reshape", "Transpose", "Reshape", "MaxPool", "AveragePool", "Softmax", "Flatten",
        ])
        let gate = try node("hs.hardsigmoid")
        #expect(abs((float(gate, "alpha") ?? 0) - 1.0 / 6) < 1e-7 && float(gate, "beta") == 0.5)
        #expect(try node("hs").input == ["input", "hs.hardsigmoid"], "HardSwish = x · hardsigmoid(x), opset 13")
        #expect(try node("silu").input == ["hs", "silu.sigmoid"])
        #expect(try node("silu.sigmoid").input == ["hs"])
        let hardSigmoid = try node("hsig")
        #expect(float(hardSigmoid, "alpha") == 0.2 && float(hardSigmoid, "beta") == 0.4)
        #expect(float(try node("leaky"), "alpha") == 0.1)
        #expect(try node("clip").input == ["leaky", "", "clip.max"], "no min: an empty input name")
        #expect(try node("mul").input == ["sig", "gmp"])
        let lrn = try node("lrn")
        #expect(lrn.attribute.first { $0.name == "size" }?.i == 3 && float(lrn, "alpha") == 2e-4)
        #expect(float(lrn, "beta") == 0.75 && float(lrn, "bias") == 2)
        #expect(try node("pad").input == ["lrn", "pad.pads", "pad.value"])
        let initializers = Dictionary(uniqueKeysWithValues: onnx.initializer.map { ($0.name, $0) })
        func int64s(_ name: String) throws -> [Int64] {
            let bytes = [UInt8](try #require(initializers[name], "\(name)").rawData)
            return stride(from: 0, to: bytes.count, by: 8).map { i in
                Int64(bitPattern: (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[i + $1]) << (8 * $1) })
            }
        }
        #expect(try int64s("pad.pads") == [0, 0, 1, 2, 0, 0, 3, 4], "[t, l, b, r] as begins then ends over N, C, H, W")
        #expect(try Self.floats(try #require(initializers["pad.value"])) == [-1])
        // After the pad the map is 4×5×7 (1+1+3 by 1+2+4): batch copied (0), channels inferred (-1).
        #expect(try int64s("shuffle.split_shape") == [0, 2, -1, 5, 7] && int64s("shuffle.shape") == [0, -1, 5, 7])
        #expect(ints(try node("shuffle.transposed"), "perm") == [0, 2, 1, 3, 4])
        let maxPool = try node("mp")
        #expect(maxPool.attribute.first { $0.name == "ceil_mode" }?.i == 1 && ints(maxPool, "dilations") == [2, 2])
        // Ceil mode counting the padding (PyTorch's default) as a pool that excludes only the overhang (no padding
        // here, so no explicit Pad): the divisor PyTorch and ONNX Runtime use, which OpenVINO gives only this way.
        let avgPool = try node("ap")
        #expect(avgPool.attribute.first { $0.name == "ceil_mode" }?.i == 1 && ints(avgPool, "strides") == [2, 2])
        #expect(avgPool.attribute.first { $0.name == "count_include_pad" }?.i == 0 && avgPool.input == ["mp"])
        #expect(try node("sm").attribute.first { $0.name == "axis" }?.i == 1)
    }

    /// Graft's own importer reads the export back into a model with the same logits (the folded norms are now the
    /// convolutions' biases).
    @Test func resnet8RoundTripsThroughGraftsImporter() throws {
        let model = try Self.resnet8()
        let bytes = try ONNXExport.export(model)
        let (imported, summary) = try ONNXImport.importModel(data: bytes, name: "resnet8.onnx")
        #expect(summary.opset == 13)
        #expect(!imported.graph.nodes.contains { $0.op == "BatchNorm2d" })
        let input = randomTensor(model.manifest.inputShape(batch: 2), seed: 31)
        expectClose(try imported.graph.forward(input, mode: .inference), try model.graph.forward(input, mode: .inference),
                    1e-5, "re-imported logits")
        // The export's metadata restores what ONNX has no field for: stretch resize, grey mean and std, the labels.
        #expect(imported.manifest.input == model.manifest.input, "\(imported.manifest.input)")
        #expect(imported.manifest.labels == model.manifest.labels && imported.manifest.head == "fc")
        #expect(summary.notes.contains { $0.contains("graft.input") } && summary.notes.contains { $0.contains("graft.labels") },
                "\(summary.notes)")
    }

    /// Options given on import win over the metadata; metadata that does not fit the graph is set aside, with a note.
    @Test func importOptionsOverrideTheExportsMetadataAndUnfitMetadataIsIgnored() throws {
        let model = try Self.resnet8()
        let bytes = try ONNXExport.export(model)
        let labels = (0..<10).map { "digit \($0)" }
        let (overridden, _) = try ONNXImport.importModel(data: bytes, name: "resnet8.onnx", options: .init(
            labels: labels, mean: [0.5], resize: ResizePolicy.none, cropFraction: 0.5))
        #expect(overridden.manifest.labels == labels)
        #expect(overridden.manifest.input.mean == [0.5] && overridden.manifest.input.std == [0.353])
        #expect(overridden.manifest.input.resize == ResizePolicy.none && overridden.manifest.input.cropFraction == 0.5)

        var proto = try Onnx_ModelProto(serializedBytes: bytes)
        for index in proto.metadataProps.indices {
            switch proto.metadataProps[index].key {
            case ONNXExport.MetadataKey.labels: proto.metadataProps[index].value = #"["only", "two"]"#
            case ONNXExport.MetadataKey.input: proto.metadataProps[index].value = #"{"channels": 3}"#
            default: break
            }
        }
        let (defaulted, summary) = try ONNXImport.importModel(data: try proto.serializedBytes(), name: "edited.onnx")
        #expect(defaulted.manifest.labels == (0..<10).map { "class \($0)" })
        #expect(defaulted.manifest.input.resize == ONNXImport.Defaults.resize
                && defaulted.manifest.input.cropFraction == ONNXImport.Defaults.cropFraction
                && defaulted.manifest.input.mean == [ONNXImport.Defaults.mean[0]])
        #expect(summary.notes.contains { $0.hasPrefix("ignored graft.input") }
                && summary.notes.contains { $0.hasPrefix("ignored graft.labels") }, "\(summary.notes)")
    }

    /// Flatten over other dimensions than PyTorch's default (main's Flatten takes start_dim and end_dim) is a Reshape
    /// that copies the batch; flattening the batch itself is refused.
    @Test func flattenRangesBecomeReshapesAndTheBatchStaysOut() throws {
        func export(_ attributes: [String: AttributeValue], shape: @escaping ([[Int]]) -> [Int]) throws -> Onnx_GraphProto {
            let nodes = [NodeSpec(name: "flat", op: "Flatten", attributes: attributes, inputs: ["input"])]
            let graph = try Graph(nodes: nodes, layers: [StandInLayer(op: "Flatten", shape: shape)],
                                  context: ComputeContext(threads: 1))
            let builder = try ONNXGraphBuilder(graph: graph, inputShape: [1, 3, 4, 5])
            try builder.build()
            return builder.proto
        }
        let plain = try export([:]) { [$0[0][0], 60] }
        #expect(plain.node.map(\.opType) == ["Flatten"] && plain.node[0].attribute.first?.i == 1)
        let partial = try export(["start_dim": .int(2), "end_dim": .int(3)]) { [$0[0][0], 3, 20] }
        #expect(partial.node.map(\.opType) == ["Reshape"] && partial.node[0].input == ["input", "flat.shape"])
        let bytes = [UInt8](try #require(partial.initializer.first { $0.name == "flat.shape" }).rawData)
        #expect(bytes.count == 24 && bytes[0] == 0 && bytes[8] == 3 && bytes[16] == 20, "[0, 3, 20]: the batch copied")
        #expect {
            _ = try export(["start_dim": .int(0)]) { _ in [180] }
        } throws: { "\($0)".contains("node 'flat'") && "\($0)".contains("start_dim 0") }
    }

    @Test func anOpWithoutMappingNamesTheNodeAndOp() throws {
        let graph = try Graph(nodes: [NodeSpec(name: "odd", op: "Mystery", inputs: ["input"])], layers: [StandInLayer(op: "Mystery") { $0[0] }],
                              context: ComputeContext(threads: 1))
        let manifest = ModelManifest(nodes: graph.nodes, input: InputSpec(channels: 1, height: 4, width: 4, mean: [0],
                                                                          std: [1]), labels: [], head: "odd")
        #expect {
            _ = try ONNXExport.export(ModelFolder(manifest: manifest, graph: graph))
        } throws: { error in
            let message = "\(error)"
            return message.contains("node 'odd'") && message.contains("op 'Mystery'") && message.contains("Conv2d")
        }
    }
}

/// Stands in for a layer being added beside the exporter (or one no exporter knows): its op and shape rule only.
final class StandInLayer: Layer {
    let op: String
    let shape: ([[Int]]) -> [Int]
    init(op: String, shape: @escaping ([[Int]]) -> [Int]) {
        self.op = op
        self.shape = shape
    }
    var attributes: [String: AttributeValue] { [:] }
    var parameters: [Parameter] { [] }
    func outputShape(for inputShapes: [[Int]], node: String) throws -> [Int] { shape(inputShapes) }
    func compile(inputs: [MemoryDescriptor], options: CompileOptions) throws -> CompiledLayer {
        throw ModelError("\(op) stand-in: shapes only")
    }
}
