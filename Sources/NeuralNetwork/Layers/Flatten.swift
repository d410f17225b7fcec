/// Merges the axes `start_dim…end_dim` into one in PyTorch's row-major order, as `torch.flatten` and
/// `nn.Flatten` (N×C×H×W → N×(C·H·W) by default).
public final class Flatten: Layer {
    public let op = "Flatten"
    /// First and last axis merged, as given (negative counts from the end).
    public let startDim: Int
    public let endDim: Int

    public init(startDim: Int = 1, endDim: Int = -1) {
        self.startDim = startDim
        self.endDim = endDim
    }

    public var parameters: [Parameter] { [] }
    /// Empty for the defaults, so that files written before the attributes existed stay the same.
    public var attributes: [String: AttributeValue] {
        startDim == 1 && endDim == -1 ? [:] : ["start_dim": .int(startDim), "end_dim": .int(endDim)]
    }

    public func outputShape(for inputShapes: [[Int]], node: String) throws -> [Int] {
        guard inputShapes.count == 1, inputShapes[0].count >= 1 else {
            throw ModelError("Flatten '\(node)' needs one input, got \(inputShapes)")
        }
        let shape = inputShapes[0], rank = shape.count
        let start = startDim < 0 ? startDim + rank : startDim, end = endDim < 0 ? endDim + rank : endDim
        guard (0..<rank).contains(start), (0..<rank).contains(end), start <= end else {
            throw ModelError("Flatten '\(node)': start_dim \(startDim) and end_dim \(endDim) must be axes of its input "
                + "\(shape) with start_dim ≤ end_dim")
        }
        return Array(shape[..<start]) + [shape[start...end].reduce(1, *)] + Array(shape[(end + 1)...])
    }

    public func compile(inputs: [MemoryDescriptor], options: CompileOptions) throws -> CompiledLayer {
        try CompiledFlatten(input: inputs[0], output: try outputShape(for: [inputs[0].dims], node: "Flatten"),
                            context: options.context)
    }
}

/// The plain layout is where flattening is a pure reinterpretation: reorder to plain, then view.
final class CompiledFlatten: CompiledLayer {
    let context: ComputeContext
    let output: MemoryDescriptor
    let plainInput: LayoutAdapter
    let plainGradient: LayoutAdapter
    let inputDims: [Int]

    init(input: MemoryDescriptor, output: [Int], context: ComputeContext) throws {
        self.context = context
        self.output = .plain(output)
        inputDims = input.dims
        plainInput = LayoutAdapter(target: .plain(input.dims), context: context)
        plainGradient = LayoutAdapter(target: .plain(output), context: context)
    }

    func forward(_ inputs: [Memory]) throws -> Memory {
        try Memory(viewing: try plainInput(inputs[0]), as: output)
    }

    func backward(_ outputGradient: Memory) throws -> [Memory] {
        [try Memory(viewing: try plainGradient(outputGradient), as: .plain(inputDims))]
    }
}
