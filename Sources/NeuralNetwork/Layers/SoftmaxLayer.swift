/// Softmax over classes (axis 1 of N×K) as PyTorch's `nn.Softmax(dim=1)`, on oneDNN.
public final class SoftmaxLayer: Layer {
    public let op = "Softmax"
    public init() {}
    public var parameters: [Parameter] { [] }
    public var attributes: [String: AttributeValue] { ["dim": .int(1)] }

    public func outputShape(for inputShapes: [[Int]], node: String) throws -> [Int] {
        guard inputShapes.count == 1, inputShapes[0].count >= 2 else {
            throw ModelError("Softmax '\(node)' needs one N×K input, got \(inputShapes)")
        }
        return inputShapes[0]
    }

    public func compile(inputs: [MemoryDescriptor], options: CompileOptions) throws -> CompiledLayer {
        try CompiledSoftmax(input: inputs[0], options: options)
    }
}

final class CompiledSoftmax: CompiledLayer {
    // x, y: N×K (input layout); y_k = exp(x_k) / Σ_j exp(x_j)
    let context: ComputeContext
    let output: MemoryDescriptor
    let primitive: Primitive
    let destination: Memory
    var ownedOutput: Memory? { destination }
    var backwardState: (primitive: Primitive, diffDst: LayoutAdapter, diffSrc: Memory)?

    init(input: MemoryDescriptor, options: CompileOptions) throws {
        context = options.context
        context.activate()
        let forward = try Softmax.forward(data: input, axis: 1, training: options.mode == .training)
        primitive = try forward.makePrimitive()
        output = forward.memoryDescriptor(.dst)
        destination = try Memory(output)
        guard options.needsBackward && options.needsInputGradient else { return }
        let pd = try Softmax.backward(diffData: output, data: output, axis: 1, hint: forward)
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
