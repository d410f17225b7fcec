/// Concatenation along one axis ≥ 1 (PyTorch's `torch.cat(dim=…)`, channels by default), on oneDNN's concat.
public final class Concat: Layer {
    public let op = "Concat"
    /// The axis as given (negative counts from the end, as in PyTorch).
    public let dim: Int

    public init(dim: Int = 1) { self.dim = dim }

    public var parameters: [Parameter] { [] }
    public var attributes: [String: AttributeValue] { ["dim": .int(dim)] }

    /// `dim` as an axis of rank-`rank` inputs, or nil when it is the batch axis or out of range.
    func axis(rank: Int) -> Int? {
        let axis = dim < 0 ? dim + rank : dim
        return (1..<max(rank, 1)).contains(axis) ? axis : nil
    }

    public func outputShape(for inputShapes: [[Int]], node: String) throws -> [Int] {
        guard let first = inputShapes.first, first.count >= 2, let axis = axis(rank: first.count) else {
            throw ModelError("Concat '\(node)': dim \(dim) must name an axis after the batch axis of its inputs, got "
                + inputShapes.map { $0.description }.joined(separator: ", "))
        }
        func others(_ shape: [Int]) -> [Int] { shape.enumerated().filter { $0.offset != axis }.map(\.element) }
        guard inputShapes.allSatisfy({ $0.count == first.count && others($0) == others(first) }) else {
            throw ModelError("Concat '\(node)' needs inputs that agree on every axis but \(axis), got "
                + inputShapes.map { $0.description }.joined(separator: ", "))
        }
        var shape = first
        shape[axis] = inputShapes.map { $0[axis] }.reduce(0, +)
        return shape
    }

    public func compile(inputs: [MemoryDescriptor], options: CompileOptions) throws -> CompiledLayer {
        let dims = inputs.map(\.dims)
        return try CompiledConcat(inputs: inputs, output: try outputShape(for: dims, node: op),
                                  axis: axis(rank: dims[0].count)!, context: options.context)
    }
}

final class CompiledConcat: CompiledLayer {
    // x_i: N×…×A_i×…; y: N×…×ΣA_i×… along `axis` (oneDNN layout)
    let context: ComputeContext
    let output: MemoryDescriptor
    let primitive: Primitive
    let destination: Memory
    var ownedOutput: Memory? { destination }
    let plainGradient: LayoutAdapter
    /// Per input: reorder from its slice of the plain gradient to a plain buffer of the input's shape.
    let slices: [(view: MemoryDescriptor, reorder: Primitive, memory: Memory)]

    init(inputs: [MemoryDescriptor], output outputDims: [Int], axis: Int, context: ComputeContext) throws {
        self.context = context
        context.activate()
        let pd = try Combine.concat(inputs, axis: axis, destination: .any(outputDims))
        primitive = try pd.makePrimitive()
        output = pd.memoryDescriptor(.dst)
        destination = try Memory(output)
        plainGradient = LayoutAdapter(target: .plain(outputDims), context: context)
        var offset = 0
        var slices: [(MemoryDescriptor, Primitive, Memory)] = []
        for input in inputs {
            let view = try Combine.slice(of: .plain(outputDims), axis: axis, offset: offset, extent: input.dims[axis])
            let target = MemoryDescriptor.plain(input.dims)
            slices.append((view, try Reorder.make(from: view, to: target), try Memory(target)))
            offset += input.dims[axis]
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
        // each input's gradient is its range of dy along the axis
        let dy = try plainGradient(outputGradient)
        return try slices.map { slice in
            try slice.reorder.execute([(PrimitiveArgument.src, try Memory(sharing: dy, as: slice.view)), (PrimitiveArgument.dst, slice.memory)],
                                      context: context)
            return slice.memory
        }
    }
}
