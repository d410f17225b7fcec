/// Flattens N×C×H×W to N×(C·H·W) in PyTorch's (channel-major) order, as `nn.Flatten`.
public final class Flatten: Layer {
    public let op = "Flatten"
    public init() {}
    public var parameters: [Parameter] { [] }
    public var attributes: [String: AttributeValue] { [:] }

    public func outputShape(for inputShapes: [[Int]], node: String) throws -> [Int] {
        guard inputShapes.count == 1, inputShapes[0].count >= 2 else {
            throw ModelError("Flatten '\(node)' needs one input of rank ≥ 2, got \(inputShapes)")
        }
        return [inputShapes[0][0], inputShapes[0].dropFirst().reduce(1, *)]
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
