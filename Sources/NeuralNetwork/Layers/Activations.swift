/// Element-wise activations as PyTorch's `nn.ReLU` and `nn.ReLU6`, on oneDNN in the input's own layout.

/// y = max(x, 0).
public final class ReLU: Layer {
    public let op = "ReLU"
    public init() {}
    public var parameters: [Parameter] { [] }
    public var attributes: [String: AttributeValue] { [:] }
    public func outputShape(for inputShapes: [[Int]], node: String) throws -> [Int] {
        try singleInput(inputShapes, layer: "ReLU", node: node)
    }
    public func compile(inputs: [MemoryDescriptor], options: CompileOptions) throws -> CompiledLayer {
        try CompiledEltwise(function: .relu, input: inputs[0], options: options)
    }
}

/// y = min(max(x, 0), 6).
public final class ReLU6: Layer {
    public let op = "ReLU6"
    public init() {}
    public var parameters: [Parameter] { [] }
    public var attributes: [String: AttributeValue] { [:] }
    public func outputShape(for inputShapes: [[Int]], node: String) throws -> [Int] {
        try singleInput(inputShapes, layer: "ReLU6", node: node)
    }
    public func compile(inputs: [MemoryDescriptor], options: CompileOptions) throws -> CompiledLayer {
        try CompiledEltwise(function: .relu6, input: inputs[0], options: options)
    }
}

func singleInput(_ shapes: [[Int]], layer: String, node: String) throws -> [Int] {
    guard shapes.count == 1 else { throw ModelError("\(layer) '\(node)' takes one input, got \(shapes.count)") }
    return shapes[0]
}

/// One oneDNN element-wise function with its backward, kept in the input's layout.
final class CompiledEltwise: CompiledLayer {
    // x, y, dx, dy: any shape, all in the input's layout
    let context: ComputeContext
    let output: MemoryDescriptor
    let forwardPrimitive: Primitive
    let destination: Memory
    var ownedOutput: Memory? { destination }
    var savedSource: Memory?
    var backwardState: (primitive: Primitive, diffDst: LayoutAdapter, diffSrc: Memory)?

    init(function: Eltwise.Function, input: MemoryDescriptor, options: CompileOptions) throws {
        context = options.context
        context.activate()
        let forward = try Eltwise.forward(function, data: input, training: options.mode == .training)
        forwardPrimitive = try forward.makePrimitive()
        output = forward.memoryDescriptor(.dst)
        destination = try Memory(output)
        guard options.needsBackward && options.needsInputGradient else { return }
        let pd = try Eltwise.backward(function, diffData: input, data: input, hint: forward)
        backwardState = (try pd.makePrimitive(), LayoutAdapter(target: pd.memoryDescriptor(.diffDst), context: context),
                         try Memory(pd.memoryDescriptor(.diffSrc)))
    }

    func forward(_ inputs: [Memory]) throws -> Memory {
        try forwardPrimitive.execute([(PrimitiveArgument.src, inputs[0]), (PrimitiveArgument.dst, destination)], context: context)
        if backwardState != nil { savedSource = inputs[0] }
        return destination
    }

    func backward(_ outputGradient: Memory) throws -> [Memory] {
        // dx = dy · f′(x)
        guard let state = backwardState, let x = savedSource else { return [] }
        try state.primitive.execute(
            [(PrimitiveArgument.src, x), (PrimitiveArgument.diffDst, try state.diffDst(outputGradient)), (PrimitiveArgument.diffSrc, state.diffSrc)],
            context: context)
        return [state.diffSrc]
    }
}
