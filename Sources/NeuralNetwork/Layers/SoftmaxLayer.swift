/// Softmax along one axis as PyTorch's `nn.Softmax(dim=…)` (classes, axis 1, by default), on oneDNN in the
/// input's layout.
public final class SoftmaxLayer: Layer {
    public let op = "Softmax"
    /// The axis as given (negative counts from the end, as in PyTorch).
    public let dim: Int

    public init(dim: Int = 1) { self.dim = dim }

    public var parameters: [Parameter] { [] }
    public var attributes: [String: AttributeValue] { ["dim": .int(dim)] }

    public func outputShape(for inputShapes: [[Int]], node: String) throws -> [Int] {
        guard inputShapes.count == 1, inputShapes[0].count >= 1 else {
            throw ModelError("Softmax '\(node)' needs one input, got \(inputShapes)")
        }
        let rank = inputShapes[0].count
        guard (-rank..<rank).contains(dim) else {
            throw ModelError("Softmax '\(node)': dim \(dim) is not an axis of its input \(inputShapes[0]) "
                + "(use 0…\(rank - 1), or −1 for the last)")
        }
        return inputShapes[0]
    }

    public func compile(inputs: [MemoryDescriptor], options: CompileOptions) throws -> CompiledLayer {
        _ = try outputShape(for: [inputs[0].dims], node: op)
        let rank = inputs[0].dims.count
        return try CompiledSoftmax(input: inputs[0], axis: dim < 0 ? dim + rank : dim, options: options)
    }
}

final class CompiledSoftmax: CompiledLayer {
    // x, y: any shape (input layout); along the axis, y_k = exp(x_k) / Σ_j exp(x_j)
    let context: ComputeContext
    let output: MemoryDescriptor
    let primitive: Primitive
    let destination: Memory
    var ownedOutput: Memory? { destination }
    var backwardState: (primitive: Primitive, diffDst: LayoutAdapter, diffSrc: Memory)?

    init(input: MemoryDescriptor, axis: Int, options: CompileOptions) throws {
        context = options.context
        context.activate()
        let forward = try Softmax.forward(data: input, axis: axis, training: options.mode == .training)
        primitive = try forward.makePrimitive()
        output = forward.memoryDescriptor(.dst)
        destination = try Memory(output)
        guard options.needsBackward && options.needsInputGradient else { return }
        let pd = try Softmax.backward(diffData: output, data: output, axis: axis, hint: forward)
        backwardState = (try pd.makePrimitive(), LayoutAdapter(target: pd.memoryDescriptor(.diffDst), context: context),
                         try Memory(pd.memoryDescriptor(.diffSrc)))
    }

    func forward(_ inputs: [Memory]) throws -> Memory {
        try primitive.execute([(PrimitiveArgument.src, inputs[0]), (PrimitiveArgument.dst, destination)], context: context)
        return destination
    }

    func backward(_ outputGradient: Memory) throws -> [Memory] {
        // dx = y ⊙ (dy − Σ_k dy_k·y_k)
        guard let state = backwardState else { return [] }
        try state.primitive.execute(
            [(PrimitiveArgument.dst, destination), (PrimitiveArgument.diffDst, try state.diffDst(outputGradient)),
             (PrimitiveArgument.diffSrc, state.diffSrc)], context: context)
        return [state.diffSrc]
    }
}
