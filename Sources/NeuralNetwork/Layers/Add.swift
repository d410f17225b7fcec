/// Element-wise sum of two same-shaped inputs (the residual connection), on oneDNN's binary add.
public final class Add: Layer {
    public let op = "Add"
    public init() {}
    public var parameters: [Parameter] { [] }
    public var attributes: [String: AttributeValue] { [:] }

    public func outputShape(for inputShapes: [[Int]], node: String) throws -> [Int] {
        guard inputShapes.count == 2, inputShapes[0] == inputShapes[1] else {
            throw ModelError("Add '\(node)' needs two inputs of the same shape, got "
                + inputShapes.map { $0.description }.joined(separator: " and "))
        }
        return inputShapes[0]
    }

    public func macs(for inputShapes: [[Int]], output: [Int]) -> Int { 0 }

    public func compile(inputs: [MemoryDescriptor], options: CompileOptions) throws -> CompiledLayer {
        try CompiledAdd(inputs: inputs, context: options.context)
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
