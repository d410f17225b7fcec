/// Batch normalisation over channels as PyTorch's `nn.BatchNorm2d`: batch statistics and a running-average
/// update in training, running statistics in inference (and always in a frozen part).
public final class BatchNorm2d: Layer {
    public let op = "BatchNorm2d"
    public let channels: Int
    public let epsilon: Float
    /// PyTorch's momentum: running = (1 − m)·running + m·batch.
    public let momentum: Float
    /// γ and β (C each).
    public let weight: Parameter
    public let bias: Parameter
    public let runningMean: Parameter
    public let runningVariance: Parameter

    public init(channels: Int, epsilon: Float = 1e-5, momentum: Float = 0.1) {
        self.channels = channels
        self.epsilon = epsilon
        self.momentum = momentum
        weight = Parameter(name: "weight", value: Tensor(shape: [channels], repeating: 1))
        bias = Parameter(name: "bias", value: Tensor(shape: [channels], repeating: 0))
        runningMean = Parameter(name: "running_mean", value: Tensor(shape: [channels], repeating: 0), kind: .buffer)
        runningVariance = Parameter(name: "running_var", value: Tensor(shape: [channels], repeating: 1), kind: .buffer)
    }

    public var parameters: [Parameter] { [weight, bias, runningMean, runningVariance] }

    public var attributes: [String: AttributeValue] {
        // Float → shortest decimal → Double, so 1e-5 is written as 1e-05, not 9.999999747378752e-06
        ["num_features": .int(channels), "eps": .float(Double("\(epsilon)")!), "momentum": .float(Double("\(momentum)")!)]
    }

    public func outputShape(for inputShapes: [[Int]], node: String) throws -> [Int] {
        guard inputShapes.count == 1, inputShapes[0].count == 4, inputShapes[0][1] == channels else {
            throw ModelError("BatchNorm2d '\(node)' (\(channels) channels) cannot take input \(inputShapes)")
        }
        return inputShapes[0]
    }

    public func macs(for inputShapes: [[Int]], output: [Int]) -> Int { output.reduce(1, *) }

    public func compile(inputs: [MemoryDescriptor], options: CompileOptions) throws -> CompiledLayer {
        try CompiledBatchNorm2d(layer: self, input: inputs[0], options: options)
    }
}

final class CompiledBatchNorm2d: CompiledLayer {
    // x, y: N×C×H×W in the input's layout; γ, β, μ, σ²: C (plain)
    let layer: BatchNorm2d
    let context: ComputeContext
    let training: Bool
    let output: MemoryDescriptor
    let forwardPrimitive: Primitive
    let scale: Memory, shift: Memory, mean: Memory, variance: Memory
    let destination: Memory
    var ownedOutput: Memory? { destination }
    var savedSource: Memory?
    var backwardState: (primitive: Primitive, diffDst: LayoutAdapter, diffSrc: Memory, diffScale: Memory,
                        diffShift: Memory)?

    /// Training only: the following ReLU runs inside the norm (its mask kept in `workspace` for backward).
    let workspace: Memory?
    let fusedReLU: Bool

    init(layer: BatchNorm2d, input: MemoryDescriptor, options: CompileOptions, fuseReLU: Bool = false) throws {
        self.layer = layer
        context = options.context
        context.activate()
        training = options.mode == .training
        precondition(!fuseReLU || (training && options.needsBackward), "BatchNorm+ReLU fusion is for training plans")
        fusedReLU = fuseReLU
        let forward = try BatchNormalization.forward(
            data: input, epsilon: layer.epsilon, training: training, fuseReLU: fuseReLU)
        let ws = forward.memoryDescriptor(.workspace)
        workspace = ws.isZero ? nil : try Memory(ws)
        forwardPrimitive = try forward.makePrimitive()
        output = forward.memoryDescriptor(.dst)
        let c = [layer.channels]
        scale = try Memory(.plain(c)); shift = try Memory(.plain(c))
        mean = try Memory(.plain(c)); variance = try Memory(.plain(c))
        destination = try Memory(output)
        guard options.needsBackward else { return }
        let pd = try BatchNormalization.backward(
            diffData: input, data: input, epsilon: layer.epsilon, hint: forward, globalStatistics: !training,
            fuseReLU: fuseReLU)
        backwardState = (
            try pd.makePrimitive(), LayoutAdapter(target: pd.memoryDescriptor(.diffDst), context: context),
            try Memory(pd.memoryDescriptor(.diffSrc)), try Memory(.plain(c)), try Memory(.plain(c)))
    }

    func forward(_ inputs: [Memory]) throws -> Memory {
        // y = γ·(x − μ)/√(σ² + ε) + β with μ, σ² from the batch (training) or the running buffers (inference)
        let x = inputs[0]
        scale.setPlainScalars(layer.weight.value.scalars)
        shift.setPlainScalars(layer.bias.value.scalars)
        if !training {
            mean.setPlainScalars(layer.runningMean.value.scalars)
            variance.setPlainScalars(layer.runningVariance.value.scalars)
        }
        var args: [(Int32, Memory)] = [
            (PrimitiveArgument.src, x), (PrimitiveArgument.dst, destination), (PrimitiveArgument.scale, scale),
            (PrimitiveArgument.shift, shift), (PrimitiveArgument.mean, mean), (PrimitiveArgument.variance, variance),
        ]
        if let workspace { args.append((PrimitiveArgument.workspace, workspace)) }
        try forwardPrimitive.execute(args, context: context)
        if training {
            // oneDNN gives the biased batch variance; PyTorch's running variance uses the unbiased one.
            let dims = x.dims
            let n = Float(dims[0] * dims[2] * dims[3])
            let correction = n > 1 ? n / (n - 1) : 1
            let m = layer.momentum
            let batchMean = mean.plainScalars(), batchVariance = variance.plainScalars()
            for c in 0..<layer.channels {
                layer.runningMean.value.scalars[c] = (1 - m) * layer.runningMean.value.scalars[c] + m * batchMean[c]
                layer.runningVariance.value.scalars[c] =
                    (1 - m) * layer.runningVariance.value.scalars[c] + m * batchVariance[c] * correction
            }
        }
        if backwardState != nil { savedSource = x }
        return destination
    }

    func backward(_ outputGradient: Memory) throws -> [Memory] {
        // x̂ = (x − μ)/σ; dβ = Σ dy; dγ = Σ dy·x̂; in training μ and σ depend on x, so
        // dx = γ/σ · (dy − mean(dy) − x̂·mean(dy·x̂)); with running statistics dx = γ/σ · dy.
        guard let state = backwardState, let x = savedSource else {
            preconditionFailure("BatchNorm2d backward without a forward that keeps backward state")
        }
        // with the fused ReLU, dy is first masked by the workspace (dy·[y > 0]) inside the same primitive
        var args: [(Int32, Memory)] = [
            (PrimitiveArgument.src, x), (PrimitiveArgument.mean, mean), (PrimitiveArgument.variance, variance),
            (PrimitiveArgument.diffDst, try state.diffDst(outputGradient)), (PrimitiveArgument.scale, scale),
            (PrimitiveArgument.shift, shift), (PrimitiveArgument.diffSrc, state.diffSrc),
            (PrimitiveArgument.diffScale, state.diffScale), (PrimitiveArgument.diffShift, state.diffShift),
        ]
        if let workspace { args.append((PrimitiveArgument.workspace, workspace)) }
        try state.primitive.execute(args, context: context)
        if layer.weight.isTrainable {
            accumulate(Tensor(shape: [layer.channels], scalars: state.diffScale.plainScalars()), into: layer.weight)
        }
        if layer.bias.isTrainable {
            accumulate(Tensor(shape: [layer.channels], scalars: state.diffShift.plainScalars()), into: layer.bias)
        }
        return [state.diffSrc]
    }
}
