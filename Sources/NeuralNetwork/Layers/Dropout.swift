/// Inverted dropout as PyTorch's `nn.Dropout`: in training each element is zeroed with probability p and the
/// rest scaled by 1/(1 − p); identity in inference. The mask comes from the layer's own seeded generator.
public final class Dropout: Layer {
    public let op = "Dropout"
    public let probability: Float
    public let seed: UInt64
    var generator: SeededGenerator

    public init(probability: Float, seed: UInt64 = 0) {
        self.probability = probability
        self.seed = seed
        generator = SeededGenerator(seed: seed)
    }

    public var parameters: [Parameter] { [] }
    public var attributes: [String: AttributeValue] { ["p": .float(Double("\(probability)")!), "seed": .int(Int(seed))] }

    public func outputShape(for inputShapes: [[Int]], node: String) throws -> [Int] {
        guard probability >= 0, probability < 1 else {
            throw ModelError("Dropout '\(node)': p must be in [0, 1), got \(probability)")
        }
        return try singleInput(inputShapes, layer: "Dropout", node: node)
    }

    /// The next mask: 0 with probability p, else 1/(1 − p).
    func nextMask(count: Int) -> [Float] {
        let keep = 1 / (1 - probability)
        return (0..<count).map { _ in generator.nextUniform() < probability ? 0 : keep }
    }

    public func compile(inputs: [MemoryDescriptor], options: CompileOptions) throws -> CompiledLayer {
        try CompiledDropout(layer: self, input: inputs[0], options: options)
    }
}

final class CompiledDropout: CompiledLayer {
    // x, y, mask: same dims, all in the input's layout; y = x ⊙ mask
    let layer: Dropout
    let context: ComputeContext
    let active: Bool
    let output: MemoryDescriptor
    let multiply: Primitive?
    let maskPlain: Memory?
    let maskAdapter: LayoutAdapter
    let gradientAdapter: LayoutAdapter
    let destination: Memory?
    let gradient: Memory?
    var mask: Memory?

    init(layer: Dropout, input: MemoryDescriptor, options: CompileOptions) throws {
        self.layer = layer
        context = options.context
        context.activate()
        active = options.mode == .training && layer.probability > 0
        output = input
        maskAdapter = LayoutAdapter(target: input, context: context)
        gradientAdapter = LayoutAdapter(target: input, context: context)
        if active {
            multiply = try Combine.binary(.multiply, input, input, destination: input).makePrimitive()
            maskPlain = try Memory(.plain(input.dims))
            destination = try Memory(input)
            gradient = try Memory(input)
        } else {
            multiply = nil; maskPlain = nil; destination = nil; gradient = nil
        }
    }

    func forward(_ inputs: [Memory]) throws -> Memory {
        guard active, let multiply, let maskPlain, let destination else { return inputs[0] }
        maskPlain.setPlainScalars(layer.nextMask(count: maskPlain.descriptor.elementCount))
        let m = try maskAdapter(maskPlain)
        mask = m
        try multiply.execute([(PrimitiveArgument.src, inputs[0]), (PrimitiveArgument.src1, m), (PrimitiveArgument.dst, destination)], context: context)
        return destination
    }

    func backward(_ outputGradient: Memory) throws -> [Memory] {
        // dx = dy ⊙ mask (the same mask as forward)
        guard active, let multiply, let mask, let gradient else { return [outputGradient] }
        try multiply.execute(
            [(PrimitiveArgument.src, try gradientAdapter(outputGradient)), (PrimitiveArgument.src1, mask), (PrimitiveArgument.dst, gradient)],
            context: context)
        return [gradient]
    }
}
