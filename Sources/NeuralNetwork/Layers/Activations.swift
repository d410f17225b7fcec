/// Element-wise activations as PyTorch's `nn.ReLU`, `nn.ReLU6`, `nn.Sigmoid`, `nn.Hardsigmoid`, `nn.Hardswish`,
/// `nn.SiLU`, `nn.LeakyReLU` and `nn.Hardtanh` (`Clip`), on oneDNN in the input's own layout.

/// A layer computing y = f(x) element by element: compiled on its own, or (inference) fused into the convolution
/// before it as post-ops (`Plan.inferenceFusions` fuses every layer of this kind the same way).
public protocol ElementwiseLayer: Layer {
    var function: Eltwise.Function { get }
}

extension ElementwiseLayer {
    public var parameters: [Parameter] { [] }
    public func outputShape(for inputShapes: [[Int]], node: String) throws -> [Int] {
        try singleInput(inputShapes, layer: op, node: node)
    }
    public func compile(inputs: [MemoryDescriptor], options: CompileOptions) throws -> CompiledLayer {
        try CompiledEltwise(function: function, input: inputs[0], options: options)
    }
}

/// y = max(x, 0).
public final class ReLU: ElementwiseLayer {
    public let op = "ReLU"
    public init() {}
    public var attributes: [String: AttributeValue] { [:] }
    public var function: Eltwise.Function { .relu }
}

/// y = min(max(x, 0), 6).
public final class ReLU6: ElementwiseLayer {
    public let op = "ReLU6"
    public init() {}
    public var attributes: [String: AttributeValue] { [:] }
    public var function: Eltwise.Function { .relu6 }
}

/// y = 1 / (1 + e^−x).
public final class Sigmoid: ElementwiseLayer {
    public let op = "Sigmoid"
    public init() {}
    public var attributes: [String: AttributeValue] { [:] }
    public var function: Eltwise.Function { .sigmoid }
}

/// y = clamp(α·x + β, 0, 1); PyTorch's `nn.Hardsigmoid` is α = 1/6, β = 1/2 (ONNX's HardSigmoid defaults to
/// α = 0.2). The gradient is α strictly inside (0 < α·x + β < 1) and 0 elsewhere, as PyTorch's.
public final class HardSigmoid: ElementwiseLayer {
    public let op = "HardSigmoid"
    public let alpha: Double
    public let beta: Double
    public init(alpha: Double = 1.0 / 6, beta: Double = 0.5) {
        self.alpha = alpha
        self.beta = beta
    }
    public var attributes: [String: AttributeValue] { ["alpha": .float(alpha), "beta": .float(beta)] }
    public var function: Eltwise.Function { .hardSigmoid(scale: Float(alpha), shift: Float(beta)) }
}

/// y = x · relu6(x + 3) / 6.
public final class HardSwish: ElementwiseLayer {
    public let op = "HardSwish"
    public init() {}
    public var attributes: [String: AttributeValue] { [:] }
    public var function: Eltwise.Function { .hardSwish }
}

/// y = x · sigmoid(x).
public final class SiLU: ElementwiseLayer {
    public let op = "SiLU"
    public init() {}
    public var attributes: [String: AttributeValue] { [:] }
    public var function: Eltwise.Function { .silu }
}

/// y = x for x > 0, negative_slope · x otherwise (the gradient at 0 is the slope, as in PyTorch).
public final class LeakyReLU: ElementwiseLayer {
    public let op = "LeakyReLU"
    public let negativeSlope: Double
    public init(negativeSlope: Double = 0.01) { self.negativeSlope = negativeSlope }
    public var attributes: [String: AttributeValue] { ["negative_slope": .float(negativeSlope)] }
    public var function: Eltwise.Function { .leakyReLU(slope: Float(negativeSlope)) }
}

/// y = min(max(x, min), max), either bound optional (ONNX's Clip). The gradient passes strictly inside the bounds
/// and is 0 at and beyond them, as PyTorch's `hardtanh` and `relu6` give (the ops ONNX exports as Clip); `torch.clamp`
/// also passes it at a bound itself.
public final class Clip: ElementwiseLayer {
    public let op = "Clip"
    public let minimum: Double?
    public let maximum: Double?
    public init(minimum: Double? = nil, maximum: Double? = nil) {
        precondition(minimum == nil || maximum == nil || minimum! <= maximum!, "Clip: min above max")
        self.minimum = minimum
        self.maximum = maximum
    }
    public var attributes: [String: AttributeValue] {
        var values: [String: AttributeValue] = [:]
        if let minimum { values["min"] = .float(minimum) }
        if let maximum { values["max"] = .float(maximum) }
        return values
    }
    public var function: Eltwise.Function {
        .clip(lower: minimum.map { Float($0) } ?? -.infinity, upper: maximum.map { Float($0) } ?? .infinity)
    }
}

func singleInput(_ shapes: [[Int]], layer: String, node: String) throws -> [Int] {
    guard shapes.count == 1 else { throw ModelError("\(layer) '\(node)' takes one input, got \(shapes.count)") }
    return shapes[0]
}

/// One element-wise function with its backward, kept in the input's layout: one oneDNN primitive per stage of the
/// function (hard sigmoid has two), each stage's input kept for its backward.
final class CompiledEltwise: CompiledLayer {
    // x, y, dx, dy and every intermediate: the input's dims, all in the input's layout
    let context: ComputeContext
    let output: MemoryDescriptor
    let forwardPrimitives: [Primitive]
    /// Each stage's result (the last is y).
    let results: [Memory]
    var ownedOutput: Memory? { results.last }
    var savedSource: Memory?
    var backwardStages: [(primitive: Primitive, diffSrc: Memory)] = []
    var diffDst: LayoutAdapter?

    init(function: Eltwise.Function, input: MemoryDescriptor, options: CompileOptions) throws {
        context = options.context
        context.activate()
        let training = options.mode == .training
        var forwards: [PrimitiveDescriptor] = []
        for stage in function.stages {
            forwards.append(try Eltwise.forward(stage, data: input, training: training))
        }
        forwardPrimitives = try forwards.map { try $0.makePrimitive() }
        output = forwards[0].memoryDescriptor(.dst)
        results = try forwards.map { try Memory($0.memoryDescriptor(.dst)) }
        guard options.needsBackward && options.needsInputGradient else { return }
        for (stage, forward) in zip(function.stages, forwards) {
            let pd = try Eltwise.backward(stage, diffData: input, data: input, hint: forward)
            backwardStages.append((try pd.makePrimitive(), try Memory(pd.memoryDescriptor(.diffSrc))))
        }
        diffDst = LayoutAdapter(target: input, context: context)
    }

    func forward(_ inputs: [Memory]) throws -> Memory {
        var x = inputs[0]
        for (primitive, y) in zip(forwardPrimitives, results) {
            try primitive.execute([(PrimitiveArgument.src, x), (PrimitiveArgument.dst, y)], context: context)
            x = y
        }
        if !backwardStages.isEmpty { savedSource = inputs[0] }
        return results.last!
    }

    func backward(_ outputGradient: Memory) throws -> [Memory] {
        // y = f_k(… f_1(x)), so dx = f_1′(x) · … · f_k′(x_{k−1}) · dy, the last stage first
        guard let x = savedSource, let diffDst else { return [] }
        var gradient = try diffDst(outputGradient)
        for k in stride(from: backwardStages.count - 1, through: 0, by: -1) {
            let source = k == 0 ? x : results[k - 1]
            try backwardStages[k].primitive.execute(
                [(PrimitiveArgument.src, source), (PrimitiveArgument.diffDst, gradient),
                 (PrimitiveArgument.diffSrc, backwardStages[k].diffSrc)],
                context: context)
            gradient = backwardStages[k].diffSrc
        }
        return [gradient]
    }
}
