/// Local response normalisation across channels as PyTorch's `nn.LocalResponseNorm` (AlexNet, GoogLeNet), on
/// oneDNN in the input's own layout.
public final class LRN: Layer {
    public let op = "LRN"
    public let size: Int
    /// Kept as written in `model.json` (Double), so that saving gives back the same numbers.
    public let alpha: Double
    public let beta: Double
    public let k: Double

    public init(size: Int, alpha: Double = 1e-4, beta: Double = 0.75, k: Double = 1) {
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k
    }

    public var parameters: [Parameter] { [] }
    public var attributes: [String: AttributeValue] {
        ["size": .int(size), "alpha": .float(alpha), "beta": .float(beta), "k": .float(k)]
    }

    public func outputShape(for inputShapes: [[Int]], node: String) throws -> [Int] {
        guard inputShapes.count == 1, inputShapes[0].count == 4 else {
            throw ModelError("LRN '\(node)' needs one N×C×H×W input, got \(inputShapes)")
        }
        // oneDNN centres its window on c (c − (n−1)/2 … c + (n−1)/2) while PyTorch's even windows lean one channel
        // forward; only odd sizes agree
        guard size >= 1, size % 2 == 1 else {
            throw ModelError("LRN '\(node)': size \(size) is not supported; use an odd size ≥ 1 (a window centred on the channel)")
        }
        guard k > 0, alpha >= 0 else {
            throw ModelError("LRN '\(node)': k must be positive and alpha non-negative (k = \(k), alpha = \(alpha)), "
                + "or the normaliser can reach zero")
        }
        return inputShapes[0]
    }

    public func compile(inputs: [MemoryDescriptor], options: CompileOptions) throws -> CompiledLayer {
        _ = try outputShape(for: [inputs[0].dims], node: op)
        return try CompiledLRN(
            parameters: .init(size: size, alpha: Float(alpha), beta: Float(beta), k: Float(k)), input: inputs[0], options: options)
    }
}

final class CompiledLRN: CompiledLayer {
    // x, y: N×C×H×W in the input's layout; y_c = x_c / (k + α/n · Σ_{|c′−c| ≤ (n−1)/2} x_{c′}²)^β
    let context: ComputeContext
    let output: MemoryDescriptor
    let forwardPrimitive: Primitive
    let destination: Memory
    var ownedOutput: Memory? { destination }
    let workspace: Memory?
    var savedSource: Memory?
    var backwardState: (primitive: Primitive, diffDst: LayoutAdapter, diffSrc: Memory)?

    init(parameters p: LocalResponseNormalization.Parameters, input: MemoryDescriptor, options: CompileOptions) throws {
        context = options.context
        context.activate()
        let training = options.mode == .training && options.needsBackward && options.needsInputGradient
        let forward = try LocalResponseNormalization.forward(data: input, p, training: training)
        forwardPrimitive = try forward.makePrimitive()
        output = forward.memoryDescriptor(.dst)
        destination = try Memory(output)
        let ws = forward.memoryDescriptor(.workspace)
        workspace = ws.isZero ? nil : try Memory(ws)
        guard training else { return }
        let pd = try LocalResponseNormalization.backward(diffData: output, data: input, p, hint: forward)
        backwardState = (try pd.makePrimitive(), LayoutAdapter(target: pd.memoryDescriptor(.diffDst), context: context),
                         try Memory(pd.memoryDescriptor(.diffSrc)))
    }

    func forward(_ inputs: [Memory]) throws -> Memory {
        var args: [(Int32, Memory)] = [(PrimitiveArgument.src, inputs[0]), (PrimitiveArgument.dst, destination)]
        if let workspace { args.append((PrimitiveArgument.workspace, workspace)) }
        try forwardPrimitive.execute(args, context: context)
        if backwardState != nil { savedSource = inputs[0] }
        return destination
    }

    func backward(_ outputGradient: Memory) throws -> [Memory] {
        // with s_c = k + α/n·Σ x², y_c = x_c·s_c^−β: dx_j = dy_j·s_j^−β − 2αβ/n · x_j · Σ_{c ∋ j} dy_c·x_c·s_c^(−β−1)
        guard let state = backwardState, let x = savedSource else { return [] }
        var args: [(Int32, Memory)] = [
            (PrimitiveArgument.src, x), (PrimitiveArgument.diffDst, try state.diffDst(outputGradient)),
            (PrimitiveArgument.diffSrc, state.diffSrc),
        ]
        if let workspace { args.append((PrimitiveArgument.workspace, workspace)) }
        try state.primitive.execute(args, context: context)
        return [state.diffSrc]
    }
}
