/// A range of channels (`x[:, start:end]`, what ONNX's Split and Slice on axis 1 give, e.g. ShuffleNetV2's
/// `chunk(2, dim=1)`), as a oneDNN reorder out of a channel view of the input.
public final class Slice: Layer {
    public let op = "Slice"
    public let start: Int
    public let end: Int

    public init(start: Int, end: Int) {
        self.start = start
        self.end = end
    }

    public var parameters: [Parameter] { [] }
    public var attributes: [String: AttributeValue] { ["dim": .int(1), "start": .int(start), "end": .int(end)] }

    public func outputShape(for inputShapes: [[Int]], node: String) throws -> [Int] {
        guard inputShapes.count == 1, inputShapes[0].count >= 2 else {
            throw ModelError("Slice '\(node)' needs one input of rank ≥ 2, got \(inputShapes)")
        }
        var shape = inputShapes[0]
        guard start >= 0, start < end, end <= shape[1] else {
            throw ModelError("Slice '\(node)': channels \(start)..<\(end) are not inside the input's \(shape[1]) channels")
        }
        shape[1] = end - start
        return shape
    }

    public func compile(inputs: [MemoryDescriptor], options: CompileOptions) throws -> CompiledLayer {
        try CompiledSlice(input: inputs[0].dims, output: try outputShape(for: [inputs[0].dims], node: "Slice"),
                          start: start, context: options.context)
    }
}

/// Channel views exist for any offset only in the plain layout (blocked layouts need block-aligned offsets), so the
/// input is brought to plain first; the result is plain.
final class CompiledSlice: CompiledLayer {
    let context: ComputeContext
    let output: MemoryDescriptor
    let plainInput: LayoutAdapter
    let plainGradient: LayoutAdapter
    let view: MemoryDescriptor
    let forwardReorder: Primitive
    let backwardReorder: Primitive
    let destination: Memory
    let inputGradient: Memory
    var ownedOutput: Memory? { destination }

    init(input: [Int], output dims: [Int], start: Int, context: ComputeContext) throws {
        self.context = context
        context.activate()
        output = .plain(dims)
        plainInput = LayoutAdapter(target: .plain(input), context: context)
        plainGradient = LayoutAdapter(target: output, context: context)
        view = try Combine.channelSlice(of: .plain(input), offset: start, channels: dims[1])
        forwardReorder = try Reorder.make(from: view, to: output)
        backwardReorder = try Reorder.make(from: output, to: view)
        destination = try Memory(output)
        inputGradient = try Memory(.plain(input))
    }

    func forward(_ inputs: [Memory]) throws -> Memory {
        let x = try plainInput(inputs[0])
        try forwardReorder.execute(
            [(PrimitiveArgument.src, try Memory(sharing: x, as: view)), (PrimitiveArgument.dst, destination)],
            context: context)
        return destination
    }

    func backward(_ outputGradient: Memory) throws -> [Memory] {
        // dx is dy in the sliced channels and zero elsewhere
        inputGradient.zero()
        try backwardReorder.execute(
            [(PrimitiveArgument.src, try plainGradient(outputGradient)),
             (PrimitiveArgument.dst, try Memory(sharing: inputGradient, as: view))],
            context: context)
        return [inputGradient]
    }
}
