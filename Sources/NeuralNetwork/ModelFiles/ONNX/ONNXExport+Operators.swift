/// The ONNX operators each Graft op is exported as (opset 13), with the attributes read from `model.json` with
/// `LayerFactory`'s defaults and the weights from the graph's layers.
import Foundation
import Tensors

extension ONNXGraphBuilder {
    /// Every op the exporter maps, in `LayerFactory`'s names (including ops whose layers may be newer than this list:
    /// they are exported from their attributes alone, since none of them has weights).
    static let exportedOps = [
        "Conv2d", "BatchNorm2d", "ReLU", "ReLU6", "Sigmoid", "HardSigmoid", "HardSwish", "SiLU", "LeakyReLU", "Clip",
        "MaxPool2d", "AvgPool2d", "LPPool2d", "GlobalAvgPool", "GlobalMaxPool", "Dropout", "Linear", "Flatten", "Add",
        "Mul", "Concat", "Softmax", "Slice", "LRN", "Pad", "ChannelShuffle",
    ]

    /// Emits node `i` as one or more ONNX nodes.
    func emit(_ i: Int) throws {
        let spec = graph.nodes[i]
        let name = spec.name
        let a = Attributes(values: spec.attributes, node: name)
        let x = inputs(i)
        let out = valueName(i)
        func single(_ op: String, _ attributes: [Onnx_AttributeProto] = []) {
            node(op, name: name, inputs: x, output: out, attributes: attributes)
            bind(i, out)
        }
        switch spec.op {
        case "Conv2d": try conv(i)
        case "BatchNorm2d": try batchNorm(i)
        case "Linear": try linear(i)
        case "ReLU": single("Relu")
        case "ReLU6":
            node("Clip", name: name, inputs: x + [scalar("\(name).min", 0), scalar("\(name).max", 6)], output: out)
            bind(i, out)
        case "Clip":
            // opset 13's bounds are optional inputs: an absent min is the empty name, an absent max is left off
            let low = spec.attributes["min"] == nil ? "" : scalar("\(name).min", Float(try a.float("min", default: 0)))
            let high = spec.attributes["max"] == nil
                ? nil : scalar("\(name).max", Float(try a.float("max", default: 0)))
            let bounds = high.map { [low, $0] } ?? (low.isEmpty ? [] : [low])
            node("Clip", name: name, inputs: x + bounds, output: out)
            bind(i, out)
        case "Sigmoid": single("Sigmoid")
        case "HardSigmoid":
            single("HardSigmoid", [Self.attribute("alpha", float: Float(try a.float("alpha", default: 1.0 / 6))),
                                   Self.attribute("beta", float: Float(try a.float("beta", default: 0.5)))])
        case "HardSwish":
            // opset 13 has no HardSwish (it came in 14): x · hardsigmoid(x) with α = 1/6, β = ½, as PyTorch writes it
            let gate = "\(name).hardsigmoid"
            node("HardSigmoid", name: gate, inputs: x, output: gate,
                 attributes: [Self.attribute("alpha", float: 1.0 / 6), Self.attribute("beta", float: 0.5)])
            node("Mul", name: name, inputs: [x[0], gate], output: out)
            bind(i, out)
        case "SiLU":
            // no SiLU in any opset: x · sigmoid(x)
            let gate = "\(name).sigmoid"
            node("Sigmoid", name: gate, inputs: x, output: gate)
            node("Mul", name: name, inputs: [x[0], gate], output: out)
            bind(i, out)
        case "LeakyReLU":
            single("LeakyRelu", [Self.attribute("alpha", float: Float(try a.float("negative_slope", default: 0.01)))])
        case "MaxPool2d", "AvgPool2d": try pool(i, a)
        case "LPPool2d":
            guard try a.int("norm_type", default: 2) == 2 else { throw unsupported(i, "only norm_type 2 is exported") }
            let kernel = try a.pair("kernel_size")
            single("LpPool", [Self.attribute("kernel_shape", ints: kernel),
                              Self.attribute("strides", ints: try a.pair("stride", default: kernel)),
                              Self.attribute("p", int: 2)])
        case "GlobalAvgPool": single("GlobalAveragePool")
        case "GlobalMaxPool": single("GlobalMaxPool")
        case "Dropout":
            bind(i, x[0])  // inference graphs have no dropout
        case "Flatten": try flatten(i, a)
        case "Add", "Mul":
            guard x.count == 2 else { throw unsupported(i, "takes two inputs, this one has \(x.count)") }
            single(spec.op)
        case "Concat": single("Concat", [Self.attribute("axis", int: try a.int("dim", default: 1))])
        case "Softmax": single("Softmax", [Self.attribute("axis", int: try a.int("dim", default: 1))])
        case "Slice":
            let dim = try a.int("dim", default: 1)
            node("Slice", name: name, inputs: x + [
                initializer("\(name).starts", int64s: [try a.int("start")]),
                initializer("\(name).ends", int64s: [try a.int("end")]),
                initializer("\(name).axes", int64s: [dim]),
            ], output: out)
            bind(i, out)
        case "LRN":
            // ONNX sums channels c − ⌊(n−1)/2⌋ … c + ⌈(n−1)/2⌉, PyTorch c − ⌊n/2⌋ … c + ⌊(n−1)/2⌋: equal for odd n only
            let size = try a.int("size")
            guard size % 2 == 1 else {
                throw unsupported(i, "LRN size \(size) is even, and ONNX centres an even window one channel later than "
                    + "PyTorch does; only odd sizes export exactly")
            }
            single("LRN", [Self.attribute("size", int: size),
                           Self.attribute("alpha", float: Float(try a.float("alpha", default: 1e-4))),
                           Self.attribute("beta", float: Float(try a.float("beta", default: 0.75))),
                           Self.attribute("bias", float: Float(try a.float("k", default: 1)))])
        case "Pad":
            // Graft's [top, left, bottom, right] → ONNX's begins then ends over N, C, H, W
            let pads = try a.padding("pads")
            node("Pad", name: name, inputs: x + [
                initializer("\(name).pads", int64s: [0, 0] + pads.begin + [0, 0] + pads.end),
                scalar("\(name).value", Float(try a.float("value", default: 0))),
            ], output: out)
            bind(i, out)
        case "ChannelShuffle": try channelShuffle(i, groups: try a.int("groups"))
        default:
            throw ModelError("node '\(name)': op '\(spec.op)' has no ONNX mapping, so the model cannot be exported "
                + "(Graft exports \(Self.exportedOps.joined(separator: ", ")))")
        }
    }

    func unsupported(_ i: Int, _ why: String) -> ModelError {
        ModelError("node '\(graph.nodes[i].name)' (\(graph.nodes[i].op)) cannot be exported to ONNX: \(why)")
    }

    func layer<L>(_ i: Int, as type: L.Type) throws -> L {
        guard let layer = graph.layers[i] as? L else { throw unsupported(i, "its layer is not a \(L.self)") }
        return layer
    }

    // MARK: - Layers with weights

    /// Conv (weights O×(C/G)×KH×KW); a BatchNorm that is its only reader is folded in with the engine's own fold,
    /// so the file computes what Graft's inference plan computes.
    func conv(_ i: Int) throws {
        let name = graph.nodes[i].name
        let conv = try layer(i, as: Conv2d.self)
        var out = valueName(i)
        var weight = conv.weight.value
        var bias = conv.bias?.value.scalars
        if i != output, consumers[i].count == 1, let j = consumers[i].first, let norm = graph.layers[j] as? BatchNorm2d,
           graph.inputIndices[j] == [i] {
            (weight, bias) = CompiledConv2d.fold(conv, norm)
            out = fold(j)
        }
        let g = conv.geometry
        var inputs = inputs(i) + [initializer("\(name).weight", shape: weight.shape, floats: weight.scalars)]
        if let bias { inputs.append(initializer("\(name).bias", shape: [bias.count], floats: bias)) }
        node("Conv", name: name, inputs: inputs, output: out, attributes: [
            Self.attribute("kernel_shape", ints: conv.kernel), Self.attribute("strides", ints: g.strides),
            Self.attribute("pads", ints: g.paddingBegin + g.paddingEnd), Self.attribute("dilations", ints: g.dilations),
            Self.attribute("group", int: g.groups),
        ])
        bind(i, out)
    }

    /// A BatchNorm not after a convolution (or after one whose result is also read elsewhere).
    func batchNorm(_ i: Int) throws {
        let name = graph.nodes[i].name
        let norm = try layer(i, as: BatchNorm2d.self)
        let c = [norm.channels]
        let inputs = inputs(i) + [
            initializer("\(name).weight", shape: c, floats: norm.weight.value.scalars),
            initializer("\(name).bias", shape: c, floats: norm.bias.value.scalars),
            initializer("\(name).running_mean", shape: c, floats: norm.runningMean.value.scalars),
            initializer("\(name).running_var", shape: c, floats: norm.runningVariance.value.scalars),
        ]
        // ONNX's momentum is the running average's share (0.9), PyTorch's the new batch's (0.1)
        node("BatchNormalization", name: name, inputs: inputs, output: valueName(i), attributes: [
            Self.attribute("epsilon", float: norm.epsilon), Self.attribute("momentum", float: 1 - norm.momentum),
        ])
        bind(i, valueName(i))
    }

    /// Gemm with transB = 1: y = x·Wᵀ + b with W stored O×I as PyTorch does.
    func linear(_ i: Int) throws {
        let name = graph.nodes[i].name
        let linear = try layer(i, as: Linear.self)
        var inputs = inputs(i) + [initializer("\(name).weight", shape: linear.weight.value.shape,
                                              floats: linear.weight.value.scalars)]
        if let bias = linear.bias {
            inputs.append(initializer("\(name).bias", shape: [linear.outFeatures], floats: bias.value.scalars))
        }
        node("Gemm", name: name, inputs: inputs, output: valueName(i), attributes: [Self.attribute("transB", int: 1)])
        bind(i, valueName(i))
    }

    // MARK: - Pooling and reshaping

    func pool(_ i: Int, _ a: Attributes) throws {
        let spec = graph.nodes[i]
        let name = spec.name
        let kernel = try a.pair("kernel_size")
        var padding = try a.padding("padding")
        let ceil = try a.bool("ceil_mode", default: false)
        let max = spec.op == "MaxPool2d"
        var include = max ? false : try a.bool("count_include_pad", default: true)
        var source = inputs(i)
        if !max, ceil, include {
            // PyTorch divides a window that overhangs the end (ceil mode) by its part inside the padded input;
            // OpenVINO 2026.4 divides by the whole kernel (ONNX Runtime agrees with PyTorch). The same result in
            // both: the padding as explicit zeros, then a pool that excludes only the overhang.
            if padding.begin + padding.end != [0, 0, 0, 0] {
                let padded = "\(name).padded"
                node("Pad", name: padded, inputs: source + [
                    initializer("\(name).pads", int64s: [0, 0] + padding.begin + [0, 0] + padding.end),
                    scalar("\(name).value", 0),
                ], output: padded)
                source = [padded]
            }
            padding = ([0, 0], [0, 0])
            include = false
        }
        var attributes = [
            Self.attribute("kernel_shape", ints: kernel),
            Self.attribute("strides", ints: try a.pair("stride", default: kernel)),
            Self.attribute("pads", ints: padding.begin + padding.end),
        ]
        if ceil { attributes.append(Self.attribute("ceil_mode", int: 1)) }
        if max {
            let dilation = try a.pair("dilation", default: [1, 1])
            if dilation != [1, 1] { attributes.append(Self.attribute("dilations", ints: dilation)) }
        } else {
            attributes.append(Self.attribute("count_include_pad", int: include ? 1 : 0))
        }
        node(max ? "MaxPool" : "AveragePool", name: name, inputs: source, output: valueName(i), attributes: attributes)
        bind(i, valueName(i))
    }

    /// Flatten(start_dim 1, end_dim −1), PyTorch's default, is ONNX's Flatten(axis 1); other ranges are a Reshape to
    /// the output shape with 0 for the batch, which must stay out of the flattened range.
    func flatten(_ i: Int, _ a: Attributes) throws {
        let source = graph.inputIndices[i][0]
        let rank = (source < 0 ? inputShape : shapes[source]).count
        func axis(_ value: Int) -> Int { value < 0 ? value + rank : value }
        let start = axis(try a.int("start_dim", default: 1)), end = axis(try a.int("end_dim", default: -1))
        guard start >= 1 else {
            throw unsupported(i, "start_dim \(start) flattens the batch into the features; the export keeps the batch "
                + "dynamic, so flatten from dimension 1")
        }
        if end == rank - 1 && start == 1 {
            node("Flatten", name: graph.nodes[i].name, inputs: inputs(i), output: valueName(i),
                 attributes: [Self.attribute("axis", int: 1)])
        } else {
            let name = graph.nodes[i].name
            let target = initializer("\(name).shape", int64s: [0] + shapes[i].dropFirst())
            node("Reshape", name: name, inputs: inputs(i) + [target], output: valueName(i))
        }
        bind(i, valueName(i))
    }

    /// ShuffleNet's channel shuffle as PyTorch exports it: N×C×H×W → N×g×(C/g)×H×W → swap axes 1 and 2 → N×C×H×W.
    /// The targets use 0 (copy the batch) and -1 (infer), so the batch stays dynamic.
    func channelShuffle(_ i: Int, groups: Int) throws {
        let name = graph.nodes[i].name
        let source = graph.inputIndices[i][0]
        let shape = source < 0 ? inputShape : shapes[source]
        guard shape.count == 4, groups >= 1, shape[1] % groups == 0 else {
            throw unsupported(i, "groups \(groups) must divide the channels of an N×C×H×W input, got \(shape)")
        }
        let (h, w) = (shape[2], shape[3])
        let split = "\(name).split", transposed = "\(name).transposed"
        let splitShape = initializer("\(name).split_shape", int64s: [0, groups, -1, h, w])
        node("Reshape", name: split, inputs: inputs(i) + [splitShape], output: split)
        node("Transpose", name: transposed, inputs: [split], output: transposed,
             attributes: [Self.attribute("perm", ints: [0, 2, 1, 3, 4])])
        node("Reshape", name: name, inputs: [transposed, initializer("\(name).shape", int64s: [0, -1, h, w])],
             output: valueName(i))
        bind(i, valueName(i))
    }
}
