/// One node of a model graph as stored in `model.json`: a unique name, an op, its attributes and the names
/// of its inputs (`input` is the graph input).
public struct NodeSpec: Codable, Equatable, Sendable {
    public var name: String
    public var op: String
    public var attributes: [String: AttributeValue]
    public var inputs: [String]

    public init(name: String, op: String, attributes: [String: AttributeValue] = [:], inputs: [String]) {
        self.name = name
        self.op = op
        self.attributes = attributes
        self.inputs = inputs
    }
}

/// Builds layers from `model.json` ops and attributes (PyTorch names and defaults).
public enum LayerFactory {
    public static let supportedOps = [
        "Sigmoid", "HardSigmoid", "HardSwish", "SiLU", "LeakyReLU", "Clip", "Mul",
        "Conv2d", "BatchNorm2d", "ReLU", "ReLU6", "MaxPool2d", "AvgPool2d", "LPPool2d", "GlobalAvgPool", "Dropout",
        "Linear", "Flatten", "Add", "Concat", "Softmax",
        "GlobalMaxPool", "LRN", "Pad", "ChannelShuffle", "Slice",
    ]

    /// The layer `spec` describes. An attribute the op does not read is refused, naming it and what the op takes:
    /// a misspelt `kernal_size` must not quietly build a layer with the default.
    public static func make(_ spec: NodeSpec, generator: inout SeededGenerator) throws -> Layer {
        let a = Attributes(values: spec.attributes, node: spec.name)
        let layer = try make(spec, a, generator: &generator)
        if let unknown = a.unread.first {
            let takes = a.read.isEmpty ? "it takes no attributes" : "it takes " + a.read.joined(separator: ", ")
            throw ModelError("node '\(spec.name)' (\(spec.op)): unknown attribute '\(unknown)'; \(takes)")
        }
        return layer
    }

    private static func make(_ spec: NodeSpec, _ a: Attributes, generator: inout SeededGenerator) throws -> Layer {
        switch spec.op {
        case "Conv2d":
            let padding = try a.padding("padding")
            return Conv2d(
                inChannels: try a.int("in_channels"), outChannels: try a.int("out_channels"),
                kernelSize: try a.pair("kernel_size"), stride: try a.pair("stride", default: [1, 1]),
                padding: padding.begin, paddingEnd: padding.end, dilation: try a.pair("dilation", default: [1, 1]),
                groups: try a.int("groups", default: 1), bias: try a.bool("bias", default: true), generator: &generator)
        case "BatchNorm2d":
            return BatchNorm2d(channels: try a.int("num_features"), epsilon: Float(try a.float("eps", default: 1e-5)),
                               momentum: Float(try a.float("momentum", default: 0.1)))
        case "ReLU": return ReLU()
        case "ReLU6": return ReLU6()
        case "Sigmoid": return Sigmoid()
        case "HardSigmoid":
            return HardSigmoid(alpha: try a.float("alpha", default: 1.0 / 6), beta: try a.float("beta", default: 0.5))
        case "HardSwish": return HardSwish()
        case "SiLU": return SiLU()
        case "LeakyReLU": return LeakyReLU(negativeSlope: try a.float("negative_slope", default: 0.01))
        case "Clip":
            let minimum = try a.optionalFloat("min"), maximum = try a.optionalFloat("max")
            if let minimum, let maximum, minimum > maximum {
                throw ModelError("Clip '\(spec.name)': min \(minimum) is greater than max \(maximum) (give min ≤ max, "
                    + "or leave one out for no bound on that side)")
            }
            return Clip(minimum: minimum, maximum: maximum)
        case "Mul": return Mul()
        case "Slice":
            guard try a.int("dim", default: 1) == 1 else { throw ModelError("Slice '\(spec.name)': only dim 1 (channels)") }
            return Slice(start: try a.int("start"), end: try a.int("end"))
        case "Flatten":
            return Flatten(startDim: try a.int("start_dim", default: 1), endDim: try a.int("end_dim", default: -1))
        case "Add": return Add()
        case "Concat": return Concat(dim: try a.int("dim", default: 1))
        case "Softmax": return SoftmaxLayer(dim: try a.int("dim", default: 1))
        case "GlobalAvgPool": return Pool2d(kind: .global)
        case "GlobalMaxPool": return Pool2d(kind: .globalMax)
        case "MaxPool2d", "AvgPool2d":
            let kernel = try a.pair("kernel_size")
            let padding = try a.padding("padding")
            let kind: Pool2d.Kind = spec.op == "MaxPool2d"
                ? .max : .average(countIncludePad: try a.bool("count_include_pad", default: true))
            return Pool2d(kind: kind, kernelSize: kernel, stride: try a.pair("stride", default: kernel),
                          padding: padding.begin, paddingEnd: padding.end, dilation: try a.pair("dilation", default: [1, 1]),
                          ceilMode: try a.bool("ceil_mode", default: false))
        case "LRN":
            return LRN(size: try a.int("size"), alpha: try a.float("alpha", default: 1e-4),
                       beta: try a.float("beta", default: 0.75), k: try a.float("k", default: 1))
        case "Pad":
            let mode = try a.string("mode", default: "constant")
            guard mode == "constant" else {
                throw ModelError("Pad '\(spec.name)': mode '\(mode)' is not supported (only constant padding)")
            }
            let pads = try a.ints("pads", count: 4)
            guard pads.allSatisfy({ $0 >= 0 }) else {
                throw ModelError("Pad '\(spec.name)': pads \(pads) must be non-negative [top, left, bottom, right]")
            }
            return Pad(pads: pads, value: try a.float("value", default: 0))
        case "ChannelShuffle": return ChannelShuffle(groups: try a.int("groups"))
        case "LPPool2d":
            guard try a.int("norm_type", default: 2) == 2 else {
                throw ModelError("LPPool2d '\(spec.name)': only norm_type 2 is supported")
            }
            let padding = try a.padding("padding")
            guard padding.begin == [0, 0] && padding.end == [0, 0], !(try a.bool("ceil_mode", default: false)) else {
                throw ModelError("LPPool2d '\(spec.name)': padding and ceil_mode are not supported (PyTorch's LPPool2d "
                    + "has no padding; use padding 0 and ceil_mode false)")
            }
            let kernel = try a.pair("kernel_size")
            return LPPool2d(kernelSize: kernel, stride: try a.pair("stride", default: kernel))
        case "Dropout":
            return Dropout(probability: Float(try a.float("p", default: 0.5)), seed: UInt64(try a.int("seed", default: 0)))
        case "Linear":
            return Linear(inFeatures: try a.int("in_features"), outFeatures: try a.int("out_features"),
                          bias: try a.bool("bias", default: true), generator: &generator)
        default:
            throw ModelError("node '\(spec.name)': unknown op '\(spec.op)' (supported: \(supportedOps.joined(separator: ", ")))")
        }
    }
}
