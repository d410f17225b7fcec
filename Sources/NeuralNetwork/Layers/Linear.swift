/// Fully connected layer as PyTorch's `nn.Linear`: y = x·wᵀ + b on oneDNN's inner product.
public final class Linear: Layer {
    public let op = "Linear"
    public let inFeatures: Int
    public let outFeatures: Int
    /// O×I, PyTorch's layout.
    public let weight: Parameter
    public let bias: Parameter?

    /// PyTorch's default initialisation (uniform in ±1/√in) from `generator`.
    public init(inFeatures: Int, outFeatures: Int, bias: Bool = true, generator: inout SeededGenerator) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        let bound = 1 / Float(max(inFeatures, 1)).squareRoot()
        weight = Parameter(name: "weight", value: uniformTensor([outFeatures, inFeatures], bound: bound, generator: &generator))
        self.bias = bias ? Parameter(name: "bias", value: uniformTensor([outFeatures], bound: bound, generator: &generator)) : nil
    }

    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }

    public var attributes: [String: AttributeValue] {
        ["in_features": .int(inFeatures), "out_features": .int(outFeatures), "bias": .bool(bias != nil)]
    }

    public func outputShape(for inputShapes: [[Int]], node: String) throws -> [Int] {
        guard inputShapes.count == 1, inputShapes[0].count == 2, inputShapes[0][1] == inFeatures else {
            throw ModelError("Linear '\(node)' (\(inFeatures)→\(outFeatures)) needs one N×\(inFeatures) input, got "
                + "\(inputShapes); put a Flatten before it")
        }
        return [inputShapes[0][0], outFeatures]
    }

    public func macs(for inputShapes: [[Int]], output: [Int]) -> Int { output.reduce(1, *) * inFeatures }

    public func compile(inputs: [MemoryDescriptor], options: CompileOptions) throws -> CompiledLayer {
        try CompiledLinear(layer: self, input: inputs[0], options: options)
    }
}

final class CompiledLinear: CompiledLayer {
    // x: N×I, w: O×I, b: O, y: N×O
    let layer: Linear
    let context: ComputeContext
    let output: MemoryDescriptor
    let forwardPrimitive: Primitive
    let sourceAdapter: LayoutAdapter
    let weights: PreparedWeights
    let destination: Memory
    var ownedOutput: Memory? { destination }
    var savedSource: Memory?
    var backwardData: (primitive: Primitive, diffDst: LayoutAdapter, weights: LayoutAdapter, diffSrc: Memory)?
    var backwardWeights: (primitive: Primitive, diffDst: LayoutAdapter, source: LayoutAdapter, diffWeights: Memory,
                          diffBias: Memory?)?

    init(layer: Linear, input: MemoryDescriptor, options: CompileOptions) throws {
        self.layer = layer
        context = options.context
        context.activate()
        let n = input.dims[0]
        let wDims = [layer.outFeatures, layer.inFeatures], yDims = [n, layer.outFeatures]
        let biasDesc = layer.bias.map { _ in MemoryDescriptor.plain([layer.outFeatures]) }
        let forward = try InnerProduct.forward(
            source: .any(input.dims), weights: .any(wDims), bias: biasDesc, destination: .any(yDims),
            training: options.mode == .training)
        forwardPrimitive = try forward.makePrimitive()
        output = forward.memoryDescriptor(.dst)
        sourceAdapter = LayoutAdapter(target: forward.memoryDescriptor(.src), context: context)
        weights = try PreparedWeights(dims: wDims, forwardLayout: forward.memoryDescriptor(.weights),
                                      biasCount: layer.bias.map { _ in layer.outFeatures },
                                      keepsPlain: options.needsBackward && options.needsInputGradient, context: context)
        destination = try Memory(output)
        guard options.needsBackward else { return }
        if options.needsInputGradient {
            let pd = try InnerProduct.backwardData(
                diffSource: .any(input.dims), weights: .any(wDims), diffDestination: .any(yDims), hint: forward)
            backwardData = (try pd.makePrimitive(), LayoutAdapter(target: pd.memoryDescriptor(.diffDst), context: context),
                            LayoutAdapter(target: pd.memoryDescriptor(.weights), context: context),
                            try Memory(pd.memoryDescriptor(.diffSrc)))
        }
        if layer.parameters.contains(where: { $0.isTrainable }) {
            let pd = try InnerProduct.backwardWeights(
                source: .any(input.dims), diffWeights: .any(wDims), diffBias: biasDesc, diffDestination: .any(yDims),
                hint: forward)
            backwardWeights = (try pd.makePrimitive(), LayoutAdapter(target: pd.memoryDescriptor(.diffDst), context: context),
                               LayoutAdapter(target: pd.memoryDescriptor(.src), context: context),
                               try Memory(pd.memoryDescriptor(.diffWeights)), try biasDesc.map { try Memory($0) })
        }
    }

    func forward(_ inputs: [Memory]) throws -> Memory {
        // y = x·wᵀ + b
        let (w, b) = try weights.forward(sources: layer.parameters.map(\.value.scalars)) {
            (layer.weight.value, layer.bias?.value.scalars)
        }
        var args: [(Int32, Memory)] = [
            (PrimitiveArgument.src, try sourceAdapter(inputs[0])), (PrimitiveArgument.weights, w),
            (PrimitiveArgument.dst, destination),
        ]
        if let b { args.append((PrimitiveArgument.bias, b)) }
        try forwardPrimitive.execute(args, context: context)
        if backwardData != nil || backwardWeights != nil { savedSource = inputs[0] }
        return destination
    }

    func backward(_ outputGradient: Memory) throws -> [Memory] {
        // dx = dy·w; dw = dyᵀ·x; db = Σ_n dy
        guard let x = savedSource else { preconditionFailure("Linear backward without a training forward") }
        if let bw = backwardWeights {
            var args: [(Int32, Memory)] = [
                (PrimitiveArgument.src, try bw.source(x)), (PrimitiveArgument.diffDst, try bw.diffDst(outputGradient)),
                (PrimitiveArgument.diffWeights, bw.diffWeights),
            ]
            if let db = bw.diffBias { args.append((PrimitiveArgument.diffBias, db)) }
            try bw.primitive.execute(args, context: context)
            if layer.weight.isTrainable { accumulate(try bw.diffWeights.tensor(context: context), into: layer.weight) }
            if let db = bw.diffBias, let bias = layer.bias, bias.isTrainable {
                accumulate(Tensor(shape: bias.value.shape, scalars: db.plainScalars()), into: bias)
            }
        }
        guard let bd = backwardData else { return [] }
        try bd.primitive.execute(
            [(PrimitiveArgument.diffDst, try bd.diffDst(outputGradient)), (PrimitiveArgument.weights, try weights.inLayout(bd.weights)),
             (PrimitiveArgument.diffSrc, bd.diffSrc)], context: context)
        return [bd.diffSrc]
    }
}
