/// Constant padding of the spatial axes as PyTorch's `F.pad(x, (left, right, top, bottom), value=v)` on
/// N×C×H×W, kept in the input's layout (the ONNX importer folds zero pads into a following conv or pool where it
/// can; this layer is for the rest).
public final class Pad: Layer {
    public let op = "Pad"
    /// [top, left, bottom, right], each ≥ 0.
    public let pads: [Int]
    /// Kept as written in `model.json` (Double), so that saving gives back the same number.
    public let value: Double

    public init(pads: [Int], value: Double = 0) {
        self.pads = pads
        self.value = value
    }

    public var parameters: [Parameter] { [] }
    public var attributes: [String: AttributeValue] { ["pads": .ints(pads), "value": .float(value)] }

    public func outputShape(for inputShapes: [[Int]], node: String) throws -> [Int] {
        guard inputShapes.count == 1, inputShapes[0].count == 4 else {
            throw ModelError("Pad '\(node)' needs one N×C×H×W input, got \(inputShapes)")
        }
        guard pads.count == 4, pads.allSatisfy({ $0 >= 0 }) else {
            throw ModelError("Pad '\(node)': pads must be four non-negative integers [top, left, bottom, right], "
                + "got \(pads) (crop with a slice instead of negative pads)")
        }
        let x = inputShapes[0]
        return [x[0], x[1], x[2] + pads[0] + pads[2], x[3] + pads[1] + pads[3]]
    }

    public func compile(inputs: [MemoryDescriptor], options: CompileOptions) throws -> CompiledLayer {
        try CompiledPad(layer: self, input: inputs[0], output: try outputShape(for: [inputs[0].dims], node: op),
                        options: options)
    }
}

final class CompiledPad: CompiledLayer {
    // x: N×C×H×W; y: N×C×(H+top+bottom)×(W+left+right) in x's layout family; y = value outside the x box
    let context: ComputeContext
    let output: MemoryDescriptor
    /// The border filled with `value` once (channel padding of blocked layouts stays zero, as oneDNN needs).
    let background: Memory
    let destination: Memory
    var ownedOutput: Memory? { destination }
    let interior: MemoryDescriptor
    let copyIn: Primitive
    let inputDims: [Int]
    var backwardState: (gradient: LayoutAdapter, copyOut: Primitive, diffSrc: Memory)?

    init(layer: Pad, input: MemoryDescriptor, output outputDims: [Int], options: CompileOptions) throws {
        context = options.context
        context.activate()
        inputDims = input.dims
        // the same blocking as the input keeps the copy a copy; an unknown layout falls back to plain
        let sameLayout = input.sameLayout(dims: outputDims)
        output = sameLayout ?? .plain(outputDims)
        let plainBackground = try Memory(.plain(outputDims))
        plainBackground.setPlainScalars([Float](repeating: Float(layer.value), count: plainBackground.descriptor.elementCount))
        background = try plainBackground.converted(to: output, context: context)
        destination = try Memory(output)
        let offsets = [0, 0, layer.pads[0], layer.pads[1]]
        interior = try Combine.region(of: output, dims: input.dims, offsets: offsets)
        copyIn = sameLayout != nil ? try Reorder.copy(from: input, to: interior) : try Reorder.make(from: input, to: interior)
        guard options.needsBackward && options.needsInputGradient else { return }
        let diffSrc = try Memory(input)
        let copyOut = sameLayout != nil ? try Reorder.copy(from: interior, to: input) : try Reorder.make(from: interior, to: input)
        backwardState = (LayoutAdapter(target: output, context: context), copyOut, diffSrc)
    }

    func forward(_ inputs: [Memory]) throws -> Memory {
        // the whole buffer is rewritten each time: a later step may accumulate into it (fused residual add)
        destination.copyBytes(from: background)
        try copyIn.execute([(PrimitiveArgument.src, inputs[0]), (PrimitiveArgument.dst, try Memory(sharing: destination, as: interior))],
                           context: context)
        return destination
    }

    func backward(_ outputGradient: Memory) throws -> [Memory] {
        // the border is constant, so dx is dy's x box
        guard let state = backwardState else { return [] }
        let dy = try state.gradient(outputGradient)
        try state.copyOut.execute([(PrimitiveArgument.src, try Memory(sharing: dy, as: interior)),
                                   (PrimitiveArgument.dst, state.diffSrc)], context: context)
        return [state.diffSrc]
    }
}
