/// 2-D convolution as PyTorch's `nn.Conv2d`, on oneDNN with layouts chosen by oneDNN.
public final class Conv2d: Layer {
    public let op = "Conv2d"
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: [Int]
    public let geometry: ConvolutionGeometry
    /// O×(C/G)×KH×KW, PyTorch's layout.
    public let weight: Parameter
    public let bias: Parameter?

    /// PyTorch's default initialisation (uniform in ±1/√fan-in for weight and bias), from `generator`.
    public init(
        inChannels: Int, outChannels: Int, kernelSize: [Int], stride: [Int] = [1, 1], padding: [Int] = [0, 0],
        paddingEnd: [Int]? = nil, dilation: [Int] = [1, 1], groups: Int = 1, bias: Bool = true,
        generator: inout SeededGenerator
    ) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernelSize
        self.geometry = ConvolutionGeometry(
            strides: stride, dilations: dilation, paddingBegin: padding, paddingEnd: paddingEnd ?? padding,
            groups: groups)
        let fanIn = max(1, inChannels / max(groups, 1) * kernelSize.reduce(1, *))
        let bound = 1 / Float(fanIn).squareRoot()
        let wShape = [outChannels, inChannels / max(groups, 1), kernelSize[0], kernelSize[1]]
        weight = Parameter(name: "weight", value: uniformTensor(wShape, bound: bound, generator: &generator))
        self.bias = bias
            ? Parameter(name: "bias", value: uniformTensor([outChannels], bound: bound, generator: &generator)) : nil
    }

    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }

    public var attributes: [String: AttributeValue] {
        [
            "in_channels": .int(inChannels), "out_channels": .int(outChannels), "kernel_size": .ints(kernel),
            "stride": .ints(geometry.strides), "padding": .ints(geometry.paddingBegin + geometry.paddingEnd),
            "dilation": .ints(geometry.dilations), "groups": .int(geometry.groups), "bias": .bool(bias != nil),
        ]
    }

    public func outputShape(for inputShapes: [[Int]], node: String) throws -> [Int] {
        let g = geometry
        func fail(_ why: String) -> ModelError {
            ModelError("Conv2d '\(node)' (\(inChannels)→\(outChannels), kernel \(kernel), stride \(g.strides), "
                + "padding \(g.paddingBegin)/\(g.paddingEnd), dilation \(g.dilations), groups \(g.groups)) on input "
                + "\(inputShapes.map { $0.description }.joined(separator: ", ")): \(why)")
        }
        guard inputShapes.count == 1, inputShapes[0].count == 4 else { throw fail("needs one N×C×H×W input") }
        let x = inputShapes[0]
        guard g.groups >= 1, inChannels % g.groups == 0, outChannels % g.groups == 0 else {
            throw fail("channels are not divisible by groups")
        }
        guard x[1] == inChannels else { throw fail("input has \(x[1]) channels, expected \(inChannels)") }
        guard g.strides.allSatisfy({ $0 >= 1 }), g.dilations.allSatisfy({ $0 >= 1 }),
              g.paddingBegin.allSatisfy({ $0 >= 0 }), g.paddingEnd.allSatisfy({ $0 >= 0 }),
              kernel.allSatisfy({ $0 >= 1 }) else { throw fail("stride, dilation and kernel must be ≥ 1, padding ≥ 0") }
        guard let spatial = g.outputSize(input: [x[2], x[3]], kernel: kernel) else {
            throw fail("kernel is larger than the padded input")
        }
        return [x[0], outChannels] + spatial
    }

    public func macs(for inputShapes: [[Int]], output: [Int]) -> Int {
        output.reduce(1, *) * (inChannels / geometry.groups) * kernel.reduce(1, *)
    }

    public func compile(inputs: [MemoryDescriptor], options: CompileOptions) throws -> CompiledLayer {
        let output = try outputShape(for: [inputs[0].dims], node: "compile")
        return try CompiledConv2d(layer: self, input: inputs[0], outputDims: output, options: options)
    }

    var weightsDims: [Int] {
        Convolution.weightsDims(output: outChannels, input: inChannels, kernel: kernel, groups: geometry.groups)
    }
}

/// Conv2d's plan step: forward, backward-data and backward-weights primitives with their buffers.
final class CompiledConv2d: CompiledLayer {
    // x: N×C×H×W (input layout), w: weightsDims (oneDNN layout), y: N×O×OH×OW (oneDNN layout)
    let layer: Conv2d
    let context: ComputeContext
    let forwardPrimitive: Primitive
    let output: MemoryDescriptor
    let sourceAdapter: LayoutAdapter
    let weights: PreparedWeights
    /// The result buffer; absent when the result is summed into another buffer (`accumulates`).
    let destination: Memory?
    var ownedOutput: Memory? { destination }
    // Backward state (training only).
    var savedSource: Memory?
    var backwardData: (primitive: Primitive, diffDst: LayoutAdapter, weights: LayoutAdapter, diffSrc: Memory)?
    var backwardWeights: (primitive: Primitive, diffDst: LayoutAdapter, source: LayoutAdapter, diffWeights: Memory,
                          diffBias: Memory?)?

    /// Inference only: a BatchNorm folded into the weights and bias, and element-wise ops fused after.
    let foldedNorm: BatchNorm2d?
    /// Inference only: forward gets a second input, a buffer the result is added into (sum post-op, in place).
    let accumulates: Bool
    private var accumulatorAdapter: LayoutAdapter?

    init(layer: Conv2d, input: MemoryDescriptor, outputDims: [Int], options: CompileOptions,
         foldedNorm: BatchNorm2d? = nil, postOps: [PostOp] = [], accumulates: Bool = false) throws {
        self.layer = layer
        context = options.context
        context.activate()
        let training = options.mode == .training
        precondition(!training || (foldedNorm == nil && postOps.isEmpty), "fusion is for inference only")
        self.foldedNorm = foldedNorm
        self.accumulates = accumulates
        let wDims = layer.weightsDims
        let biasDesc = layer.bias != nil || foldedNorm != nil ? MemoryDescriptor.plain([layer.outChannels]) : nil
        let forward = try Convolution.forward(
            source: .any(input.dims), weights: .any(wDims), bias: biasDesc, destination: .any(outputDims),
            geometry: layer.geometry, training: training, postOps: postOps)
        forwardPrimitive = try forward.makePrimitive()
        output = forward.memoryDescriptor(.dst)
        sourceAdapter = LayoutAdapter(target: forward.memoryDescriptor(.src), context: context)
        weights = try PreparedWeights(dims: wDims, forwardLayout: forward.memoryDescriptor(.weights),
                                      biasCount: biasDesc.map { _ in layer.outChannels },
                                      keepsPlain: options.needsBackward && options.needsInputGradient, context: context)
        destination = accumulates ? nil : try Memory(output)
        guard options.needsBackward else { return }
        if options.needsInputGradient {
            let pd = try Convolution.backwardData(
                diffSource: .any(input.dims), weights: .any(wDims), diffDestination: .any(outputDims),
                geometry: layer.geometry, hint: forward)
            backwardData = (
                try pd.makePrimitive(), LayoutAdapter(target: pd.memoryDescriptor(.diffDst), context: context),
                LayoutAdapter(target: pd.memoryDescriptor(.weights), context: context),
                try Memory(pd.memoryDescriptor(.diffSrc)))
        }
        if layer.parameters.contains(where: { $0.isTrainable }) {
            let pd = try Convolution.backwardWeights(
                source: .any(input.dims), diffWeights: .any(wDims), diffBias: biasDesc, diffDestination: .any(outputDims),
                geometry: layer.geometry, hint: forward)
            backwardWeights = (
                try pd.makePrimitive(), LayoutAdapter(target: pd.memoryDescriptor(.diffDst), context: context),
                LayoutAdapter(target: pd.memoryDescriptor(.src), context: context),
                try Memory(pd.memoryDescriptor(.diffWeights)), try biasDesc.map { try Memory($0) })
        }
    }

    func forward(_ inputs: [Memory]) throws -> Memory {
        // y = w ⊛ x + b (then the fused post-ops in inference)
        let x = try sourceAdapter(inputs[0])
        // With a sum post-op the destination holds the residual input: use its buffer when the layouts agree
        // (in place), otherwise a copy reordered into this convolution's layout.
        let target: Memory
        if let destination {
            target = destination
        } else {
            if inputs[1].descriptor == output {
                target = inputs[1]
            } else {
                if accumulatorAdapter == nil { accumulatorAdapter = LayoutAdapter(target: output, context: context) }
                target = try accumulatorAdapter!(inputs[1])
            }
        }
        // BatchNorm after the conv in inference is affine per channel: y = s·(w⊛x + b − μ) + β with s = γ/√(σ² + ε),
        // so it folds into w' = s·w and b' = s·(b − μ) + β, computed again only when a parameter changes.
        var sources = layer.parameters.map(\.value.scalars)
        if let norm = foldedNorm { sources += norm.parameters.map(\.value.scalars) }
        let (w, b) = try weights.forward(sources: sources) {
            if let norm = foldedNorm { return Self.fold(layer, norm) }
            return (layer.weight.value, layer.bias?.value.scalars)
        }
        var args: [(Int32, Memory)] = [
            (PrimitiveArgument.src, x), (PrimitiveArgument.weights, w), (PrimitiveArgument.dst, target),
        ]
        if let b { args.append((PrimitiveArgument.bias, b)) }
        try forwardPrimitive.execute(args, context: context)
        if backwardData != nil || backwardWeights != nil { savedSource = inputs[0] }
        return target
    }

    static func fold(_ conv: Conv2d, _ norm: BatchNorm2d) -> (Tensor, [Float]) {
        var weight = conv.weight.value
        var bias = [Float](repeating: 0, count: conv.outChannels)
        let perOutput = weight.count / conv.outChannels
        for o in 0..<conv.outChannels {
            let scale = norm.weight.value.scalars[o] / (norm.runningVariance.value.scalars[o] + norm.epsilon).squareRoot()
            for i in (o * perOutput)..<((o + 1) * perOutput) { weight.scalars[i] *= scale }
            let b = conv.bias?.value.scalars[o] ?? 0
            bias[o] = (b - norm.runningMean.value.scalars[o]) * scale + norm.bias.value.scalars[o]
        }
        return (weight, bias)
    }

    func backward(_ outputGradient: Memory) throws -> [Memory] {
        // dx = wᵀ ⋆ dy (transposed convolution); dw = Σ_n dy ⋆ x; db = Σ_{n,h,w} dy
        guard let source = savedSource else { preconditionFailure("Conv2d backward without a training forward") }
        if let bw = backwardWeights {
            var args: [(Int32, Memory)] = [
                (PrimitiveArgument.src, try bw.source(source)), (PrimitiveArgument.diffDst, try bw.diffDst(outputGradient)),
                (PrimitiveArgument.diffWeights, bw.diffWeights),
            ]
            if let db = bw.diffBias { args.append((PrimitiveArgument.diffBias, db)) }
            try bw.primitive.execute(args, context: context)
            if layer.weight.isTrainable {
                accumulate(try bw.diffWeights.tensor(context: context), into: layer.weight)
            }
            if let db = bw.diffBias, let bias = layer.bias, bias.isTrainable {
                accumulate(Tensor(shape: bias.value.shape, scalars: db.plainScalars()), into: bias)
            }
        }
        guard let bd = backwardData else { return [] }
        try bd.primitive.execute(
            [
                (PrimitiveArgument.diffDst, try bd.diffDst(outputGradient)), (PrimitiveArgument.weights, try weights.inLayout(bd.weights)),
                (PrimitiveArgument.diffSrc, bd.diffSrc),
            ], context: context)
        return [bd.diffSrc]
    }
}

/// A tensor of uniform samples in [-bound, bound).
func uniformTensor(_ shape: [Int], bound: Float, generator: inout SeededGenerator) -> Tensor {
    Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in (generator.nextUniform() * 2 - 1) * bound })
}
