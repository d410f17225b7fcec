/// Element-wise sum of two inputs (the residual connection), on oneDNN's binary add; inputs of unequal shapes
/// broadcast as in NumPy/ONNX (`CompiledBroadcastBinary`), equal shapes keep the residual path the plan fuses.
public final class Add: Layer {
    public let op = "Add"
    public init() {}
    public var parameters: [Parameter] { [] }
    public var attributes: [String: AttributeValue] { [:] }

    public func outputShape(for inputShapes: [[Int]], node: String) throws -> [Int] {
        try broadcastShape(inputShapes, layer: op, node: node)
    }

    public func macs(for inputShapes: [[Int]], output: [Int]) -> Int { 0 }

    public func compile(inputs: [MemoryDescriptor], options: CompileOptions) throws -> CompiledLayer {
        if inputs[0].dims != inputs[1].dims { return try CompiledBroadcastBinary(.add, inputs: inputs, options: options) }
        return try CompiledAdd(inputs: inputs, context: options.context)
    }
}

final class CompiledAdd: CompiledLayer {
    // a, b, y: same dims; b is brought into a's layout, y takes a's layout
    let context: ComputeContext
    let output: MemoryDescriptor
    let primitive: Primitive
    let secondAdapter: LayoutAdapter
    let destination: Memory
    var ownedOutput: Memory? { destination }

    init(inputs: [MemoryDescriptor], context: ComputeContext) throws {
        self.context = context
        context.activate()
        let pd = try Combine.binary(.add, inputs[0], inputs[0], destination: inputs[0])
        primitive = try pd.makePrimitive()
        output = pd.memoryDescriptor(.dst)
        secondAdapter = LayoutAdapter(target: inputs[0], context: context)
        destination = try Memory(output)
    }

    func forward(_ inputs: [Memory]) throws -> Memory {
        try primitive.execute(
            [(PrimitiveArgument.src, inputs[0]), (PrimitiveArgument.src1, try secondAdapter(inputs[1])), (PrimitiveArgument.dst, destination)],
            context: context)
        return destination
    }

    func backward(_ outputGradient: Memory) throws -> [Memory] {
        // y = a + b, so da = db = dy
        [outputGradient, outputGradient]
    }
}
