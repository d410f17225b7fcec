/// Builds an architecture's `model.json` nodes while tracking each node's output size, so that a builder can
/// check the output-size formula (W − F + 2P)/S + 1 layer by layer and name the layer where it fails.

/// How a convolution or pooling layer turns (W − F + 2P)/S + 1 into a size: the paper's tables assume it divides
/// (`exact`, refused otherwise); PyTorch rounds down (`floor`), or up with `ceil_mode` (`ceil`).
public enum SizeRounding: Sendable { case exact, floor, ceil }

/// Appends nodes (PyTorch op names and attributes) and keeps each node's C×H×W output, so later layers get their
/// input channels and sizes without the builder restating them.
public struct ArchitectureBuilder {
    public private(set) var nodes: [NodeSpec] = []
    /// Output channels, height and width of every node so far (`input` included).
    public private(set) var shapes: [String: (channels: Int, height: Int, width: Int)]
    /// The rounding a layer uses unless its call gives one.
    public var rounding: SizeRounding

    public init(channels: Int, height: Int, width: Int, rounding: SizeRounding = .exact) {
        shapes = ["input": (channels, height, width)]
        self.rounding = rounding
    }

    public func channels(_ node: String) -> Int { shapes[node]!.channels }
    public func height(_ node: String) -> Int { shapes[node]!.height }

    /// (size − kernel + 2·padding)/stride + 1 under `rounding`; a non-integer under `.exact`, or a size below 1,
    /// is an error naming the layer and the numbers.
    static func outputSize(_ size: Int, kernel: Int, stride: Int, padding: Int, rounding: SizeRounding, layer: String)
        throws -> Int {
        let span = size - kernel + 2 * padding
        guard span >= 0 else {
            throw ModelError("layer '\(layer)': a \(kernel)×\(kernel) window does not fit its \(size)×\(size) input "
                + "(padding \(padding)); give the architecture a larger input size")
        }
        var output: Int
        switch rounding {
        case .exact:
            guard span % stride == 0 else {
                throw ModelError("layer '\(layer)': output size (W − F + 2P)/S + 1 = (\(size) − \(kernel) + 2·\(padding))/"
                    + "\(stride) + 1 = \(span)/\(stride) + 1 is not an integer; choose an input size the architecture's "
                    + "strides divide")
            }
            output = span / stride + 1
        case .floor: output = span / stride + 1
        case .ceil:
            output = (span + stride - 1) / stride + 1
            // PyTorch's ceil_mode: the last window must start inside the input or its left padding.
            if (output - 1) * stride >= size + padding { output -= 1 }
        }
        return output
    }

    mutating func append(_ name: String, _ op: String, _ attributes: [String: AttributeValue], _ inputs: [String],
                         shape: (Int, Int, Int)) {
        precondition(shapes[name] == nil, "node '\(name)' appears twice")
        nodes.append(NodeSpec(name: name, op: op, attributes: attributes, inputs: inputs))
        shapes[name] = shape
    }

    @discardableResult
    public mutating func conv(_ name: String, _ input: String, _ outChannels: Int, kernel: Int, stride: Int = 1,
                              padding: Int = 0, groups: Int = 1, bias: Bool = true, rounding: SizeRounding? = nil)
        throws -> String {
        let (c, h, w) = shapes[input]!
        guard c % groups == 0, outChannels % groups == 0 else {
            throw ModelError("layer '\(name)': \(groups) groups do not divide \(c) input and \(outChannels) output channels")
        }
        let rule = rounding ?? self.rounding
        let oh = try Self.outputSize(h, kernel: kernel, stride: stride, padding: padding, rounding: rule, layer: name)
        let ow = try Self.outputSize(w, kernel: kernel, stride: stride, padding: padding, rounding: rule, layer: name)
        append(name, "Conv2d", [
            "in_channels": .int(c), "out_channels": .int(outChannels), "kernel_size": .int(kernel), "stride": .int(stride),
            "padding": .int(padding), "groups": .int(groups), "bias": .bool(bias),
        ], [input], shape: (outChannels, oh, ow))
        return name
    }

    @discardableResult
    public mutating func batchNorm(_ name: String, _ input: String, eps: Double = 1e-5) -> String {
        append(name, "BatchNorm2d", ["num_features": .int(channels(input)), "eps": .float(eps)], [input],
               shape: shapes[input]!)
        return name
    }

    /// An element-wise op with no attributes (ReLU, ReLU6, …).
    @discardableResult
    public mutating func activation(_ name: String, _ op: String, _ input: String) -> String {
        append(name, op, [:], [input], shape: shapes[input]!)
        return name
    }

    @discardableResult
    public mutating func relu(_ name: String, _ input: String) -> String { activation(name, "ReLU", input) }

    /// MaxPool2d or AvgPool2d (`op`); `.ceil` rounding is written as PyTorch's `ceil_mode`.
    @discardableResult
    public mutating func pool(_ name: String, _ input: String, kernel: Int, stride: Int, padding: Int = 0,
                              rounding: SizeRounding? = nil, op: String = "MaxPool2d") throws -> String {
        let (c, h, w) = shapes[input]!
        let rule = rounding ?? self.rounding
        let oh = try Self.outputSize(h, kernel: kernel, stride: stride, padding: padding, rounding: rule, layer: name)
        let ow = try Self.outputSize(w, kernel: kernel, stride: stride, padding: padding, rounding: rule, layer: name)
        var attributes: [String: AttributeValue] = ["kernel_size": .int(kernel), "stride": .int(stride), "padding": .int(padding)]
        if rule == .ceil { attributes["ceil_mode"] = .bool(true) }
        append(name, op, attributes, [input], shape: (c, oh, ow))
        return name
    }

    /// torchvision's `AdaptiveAvgPool2d(side)` where it is an ordinary pooling: nothing when the input already is
    /// side×side (the 224 case), a side-dividing average pool otherwise; other sizes are refused, naming the layer.
    public mutating func adaptiveAvgPool(_ name: String, _ input: String, side: Int) throws -> String {
        let (_, h, w) = shapes[input]!
        if h == side && w == side { return input }
        guard h == w, h % side == 0 else {
            throw ModelError("layer '\(name)': AdaptiveAvgPool2d(\(side)) of a \(h)×\(w) input is not a plain average "
                + "pool (\(side) does not divide \(h)), which Graft does not build; choose an input size that leaves "
                + "\(side)×\(side) or a multiple of it here (224 does)")
        }
        return try pool(name, input, kernel: h / side, stride: h / side, rounding: .exact, op: "AvgPool2d")
    }

    @discardableResult
    public mutating func globalAvgPool(_ name: String, _ input: String) -> String {
        append(name, "GlobalAvgPool", [:], [input], shape: (channels(input), 1, 1))
        return name
    }

    @discardableResult
    public mutating func lrn(_ name: String, _ input: String, size: Int, alpha: Double, beta: Double, k: Double) -> String {
        append(name, "LRN", ["size": .int(size), "alpha": .float(alpha), "beta": .float(beta), "k": .float(k)], [input],
               shape: shapes[input]!)
        return name
    }

    /// Flattens C×H×W to features (PyTorch's `torch.flatten(x, 1)`), kept as a 1×1 "image" of C·H·W channels.
    @discardableResult
    public mutating func flatten(_ name: String, _ input: String) -> String {
        let (c, h, w) = shapes[input]!
        append(name, "Flatten", [:], [input], shape: (c * h * w, 1, 1))
        return name
    }

    @discardableResult
    public mutating func dropout(_ name: String, _ input: String, p: Double) -> String {
        append(name, "Dropout", ["p": .float(p)], [input], shape: shapes[input]!)
        return name
    }

    @discardableResult
    public mutating func linear(_ name: String, _ input: String, _ outFeatures: Int) -> String {
        append(name, "Linear", ["in_features": .int(channels(input)), "out_features": .int(outFeatures)], [input],
               shape: (outFeatures, 1, 1))
        return name
    }

    @discardableResult
    public mutating func add(_ name: String, _ a: String, _ b: String) -> String {
        precondition(shapes[a]! == shapes[b]!, "Add '\(name)': \(a) and \(b) differ in shape")
        append(name, "Add", [:], [a, b], shape: shapes[a]!)
        return name
    }

    /// Concatenation along channels; the inputs must agree in height and width.
    @discardableResult
    public mutating func concat(_ name: String, _ inputs: [String]) throws -> String {
        let first = shapes[inputs[0]]!
        guard inputs.allSatisfy({ shapes[$0]!.height == first.height && shapes[$0]!.width == first.width }) else {
            throw ModelError("Concat '\(name)': branches \(inputs) differ in height or width: "
                + inputs.map { "\(shapes[$0]!.height)×\(shapes[$0]!.width)" }.joined(separator: ", "))
        }
        append(name, "Concat", ["dim": .int(1)], inputs,
               shape: (inputs.map { shapes[$0]!.channels }.reduce(0, +), first.height, first.width))
        return name
    }
}
