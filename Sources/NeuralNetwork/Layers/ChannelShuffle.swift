/// Channel shuffle as PyTorch's `nn.ChannelShuffle(groups)` (ShuffleNetV2's reshape–transpose–reshape), on
/// oneDNN's shuffle in the input's own layout.
public final class ChannelShuffle: Layer {
    public let op = "ChannelShuffle"
    public let groups: Int

    public init(groups: Int) { self.groups = groups }

    public var parameters: [Parameter] { [] }
    public var attributes: [String: AttributeValue] { ["groups": .int(groups)] }

    public func outputShape(for inputShapes: [[Int]], node: String) throws -> [Int] {
        guard inputShapes.count == 1, inputShapes[0].count >= 2 else {
            throw ModelError("ChannelShuffle '\(node)' needs one input of rank ≥ 2, got \(inputShapes)")
        }
        let channels = inputShapes[0][1]
        guard groups >= 1, channels % groups == 0 else {
            throw ModelError("ChannelShuffle '\(node)': groups \(groups) must be positive and divide the \(channels) channels")
        }
        return inputShapes[0]
    }

    public func compile(inputs: [MemoryDescriptor], options: CompileOptions) throws -> CompiledLayer {
        _ = try outputShape(for: [inputs[0].dims], node: op)
        return try CompiledShuffle(input: inputs[0], groupSize: inputs[0].dims[1] / groups, options: options)
    }
}

final class CompiledShuffle: CompiledLayer {
    // x, y: N×C×… in the input's layout; with C = g·m, y[i·g + j] = x[j·m + i] (PyTorch's g, oneDNN's group size m)
    let context: ComputeContext
    let output: MemoryDescriptor
    let forwardPrimitive: Primitive
    let destination: Memory
    var ownedOutput: Memory? { destination }
    var backwardState: (primitive: Primitive, diffDst: LayoutAdapter, diffSrc: Memory)?

    init(input: MemoryDescriptor, groupSize: Int, options: CompileOptions) throws {
        context = options.context
        context.activate()
        let forward = try Shuffle.forward(data: input, axis: 1, groupSize: groupSize, training: options.mode == .training)
        forwardPrimitive = try forward.makePrimitive()
        output = forward.memoryDescriptor(.dst)
        destination = try Memory(output)
        guard options.needsBackward && options.needsInputGradient else { return }
        let pd = try Shuffle.backward(diffData: output, axis: 1, groupSize: groupSize, hint: forward)
        backwardState = (try pd.makePrimitive(), LayoutAdapter(target: pd.memoryDescriptor(.diffDst), context: context),
                         try Memory(pd.memoryDescriptor(.diffSrc)))
    }

    func forward(_ inputs: [Memory]) throws -> Memory {
        try forwardPrimitive.execute([(PrimitiveArgument.src, inputs[0]), (PrimitiveArgument.dst, destination)],
                                     context: context)
        return destination
    }

    func backward(_ outputGradient: Memory) throws -> [Memory] {
        // a permutation: dx is dy permuted back (dx[j·m + i] = dy[i·g + j])
        guard let state = backwardState else { return [] }
        try state.primitive.execute(
            [(PrimitiveArgument.diffDst, try state.diffDst(outputGradient)), (PrimitiveArgument.diffSrc, state.diffSrc)],
            context: context)
        return [state.diffSrc]
    }
}
