/// Concatenation along channels (PyTorch's `torch.cat(dim=1)`), on oneDNN's concat.
public final class Concat: Layer {
    public let op = "Concat"
    public init() {}
    public var parameters: [Parameter] { [] }
    public var attributes: [String: AttributeValue] { ["dim": .int(1)] }

    public func outputShape(for inputShapes: [[Int]], node: String) throws -> [Int] {
        guard inputShapes.count >= 1, let first = inputShapes.first, first.count >= 2,
              inputShapes.allSatisfy({ $0.count == first.count && $0[0] == first[0] && $0.dropFirst(2) == first.dropFirst(2) })
        else {
            throw ModelError("Concat '\(node)' needs inputs that agree on every axis but channels, got "
                + inputShapes.map { $0.description }.joined(separator: ", "))
        }
        var shape = first
        shape[1] = inputShapes.map { $0[1] }.reduce(0, +)
        return shape
    }

    public func compile(inputs: [MemoryDescriptor], options: CompileOptions) throws -> CompiledLayer {
        try CompiledConcat(inputs: inputs, output: try outputShape(for: inputs.map(\.dims), node: "Concat"),
                           context: options.context)
    }
}

final class CompiledConcat: CompiledLayer {
    // x_i: N×C_i×H×W; y: N×ΣC_i×H×W (oneDNN layout)
    let context: ComputeContext
    let output: MemoryDescriptor
    let primitive: Primitive
    let destination: Memory
    var ownedOutput: Memory? { destination }
    let plainGradient: LayoutAdapter
    /// Per input: reorder from a channel slice of the plain gradient to a plain buffer of the input's shape.
    let slices: [(view: MemoryDescriptor, reorder: Primitive, memory: Memory)]

    init(inputs: [MemoryDescriptor], output outputDims: [Int], context: ComputeContext) throws {
        self.context = context
        context.activate()
        let pd = try Combine.concat(inputs, axis: 1, destination: .any(outputDims))
        primitive = try pd.makePrimitive()
        output = pd.memoryDescriptor(.dst)
        destination = try Memory(output)
        plainGradient = LayoutAdapter(target: .plain(outputDims), context: context)
        var offset = 0
        var slices: [(MemoryDescriptor, Primitive, Memory)] = []
        for input in inputs {
            let view = try Combine.channelSlice(of: .plain(outputDims), offset: offset, channels: input.dims[1])
            let target = MemoryDescriptor.plain(input.dims)
            slices.append((view, try Reorder.make(from: view, to: target), try Memory(target)))
            offset += input.dims[1]
        }
        self.slices = slices
    }

    func forward(_ inputs: [Memory]) throws -> Memory {
        var args = inputs.enumerated().map { (PrimitiveArgument.multipleSrc($0.offset), $0.element) }
        args.append((PrimitiveArgument.dst, destination))
        try primitive.execute(args, context: context)
        return destination
    }

    func backward(_ outputGradient: Memory) throws -> [Memory] {
        // each input's gradient is its channel range of dy
        let dy = try plainGradient(outputGradient)
        return try slices.map { slice in
            try slice.reorder.execute([(PrimitiveArgument.src, try Memory(sharing: dy, as: slice.view)), (PrimitiveArgument.dst, slice.memory)],
                                      context: context)
            return slice.memory
        }
    }
}
