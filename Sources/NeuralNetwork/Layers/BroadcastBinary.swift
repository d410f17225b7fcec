/// Binary element-wise ops with NumPy/ONNX broadcasting (Mul, and Add of unequal shapes): the shape rule, and the
/// compiled step whose backward sums each broadcast input's gradient over the axes it was stretched along.

/// The broadcast shape of two inputs of equal rank (each axis equal, or 1 in one of them), or a `ModelError` naming
/// the node and the shapes.
func broadcastShape(_ shapes: [[Int]], layer: String, node: String) throws -> [Int] {
    let listed = shapes.map { $0.description }.joined(separator: " and ")
    guard shapes.count == 2 else { throw ModelError("\(layer) '\(node)' takes two inputs, got \(shapes.count)") }
    let (a, b) = (shapes[0], shapes[1])
    guard a.count == b.count else {
        throw ModelError("\(layer) '\(node)' broadcasts inputs of equal rank only, got \(listed) "
            + "(give the smaller one leading axes of extent 1)")
    }
    guard zip(a, b).allSatisfy({ $0 == $1 || $0 == 1 || $1 == 1 }) else {
        throw ModelError("\(layer) '\(node)' needs two inputs of the same shape or shapes that broadcast (on each "
            + "axis equal extents, or 1 in one of them), got \(listed)")
    }
    return zip(a, b).map { max($0, $1) }
}

/// y = a ∘ b with broadcasting, ∘ = + or ·, in oneDNN's layouts.
///
/// The input of the output's full shape runs as oneDNN's first source and gives the output its layout; the other
/// is brought into that layout at its own dims (`withDims`), where the binary primitive has jit kernels for a
/// broadcast second source (blocked N×C×1×1 beside blocked N×C×H×W costs no reorder). When neither input has the
/// full shape, the first is stretched to it first (a sum with zeros).
final class CompiledBroadcastBinary: CompiledLayer {
    // a, b: equal rank, each axis equal to y's or 1; y: the broadcast shape, in the full input's layout
    let operation: Combine.BinaryOperation
    let context: ComputeContext
    let output: MemoryDescriptor
    /// Which input is the full one (nil: neither, the first is stretched).
    let fullInput: Int?
    let primitive: Primitive
    let secondAdapter: LayoutAdapter
    let fullAdapter: LayoutAdapter?
    let destination: Memory
    var ownedOutput: Memory? { destination }
    /// Stretching the first input when neither is full: zeros of y's shape + a.
    let stretch: (primitive: Primitive, zeros: Memory, result: Memory)?
    // Backward state: the full and second operands as the forward used them, and per input its reduction.
    var saved: (full: Memory, second: Memory)?
    var backwardState: (diffDst: LayoutAdapter, product: Primitive?, fullGradient: Memory?, secondGradient: Memory?,
                        reduceFull: BroadcastReduction?, reduceSecond: BroadcastReduction)?

    init(_ operation: Combine.BinaryOperation, inputs: [MemoryDescriptor], options: CompileOptions) throws {
        self.operation = operation
        context = options.context
        context.activate()
        let dims = try broadcastShape(inputs.map(\.dims), layer: "\(operation)", node: "compile")
        fullInput = inputs.firstIndex { $0.dims == dims }
        let second = fullInput == 1 ? 0 : 1
        let fullLayout: MemoryDescriptor
        if let fullInput {
            fullLayout = inputs[fullInput]
            stretch = nil
            fullAdapter = nil
        } else {
            // a stretched to y's shape in a's layout: 0 + a, with a broadcast as oneDNN's second source
            fullLayout = inputs[0].withDims(dims)
            let pd = try Combine.binary(.add, fullLayout, inputs[0], destination: fullLayout)
            stretch = (try pd.makePrimitive(), try Memory(fullLayout), try Memory(fullLayout))
            fullAdapter = LayoutAdapter(target: inputs[0], context: context)
        }
        let secondLayout = fullLayout.withDims(inputs[second].dims)
        let pd = try Combine.binary(operation, fullLayout, secondLayout, destination: fullLayout)
        primitive = try pd.makePrimitive()
        output = pd.memoryDescriptor(.dst)
        secondAdapter = LayoutAdapter(target: secondLayout, context: context)
        destination = try Memory(output)
        guard options.needsBackward && options.needsInputGradient else { return }
        var product: Primitive?, fullGradient: Memory?, secondGradient: Memory?
        if operation == .multiply {
            // the full operand's gradient dy·b runs on the forward primitive; the second's needs dy·a at full size
            product = try Combine.binary(.multiply, output, output, destination: output).makePrimitive()
            fullGradient = try Memory(output)
            secondGradient = try Memory(output)
        }
        backwardState = (
            LayoutAdapter(target: output, context: context), product, fullGradient, secondGradient,
            fullInput == nil ? try BroadcastReduction(source: output, targetDims: inputs[0].dims, context: context) : nil,
            try BroadcastReduction(source: output, targetDims: inputs[second].dims, context: context))
    }

    func forward(_ inputs: [Memory]) throws -> Memory {
        let second = try secondAdapter(inputs[fullInput == 1 ? 0 : 1])
        var full = fullInput.map { inputs[$0] } ?? inputs[0]
        if let stretch, let fullAdapter {
            try stretch.primitive.execute(
                [(PrimitiveArgument.src, stretch.zeros), (PrimitiveArgument.src1, try fullAdapter(inputs[0])),
                 (PrimitiveArgument.dst, stretch.result)], context: context)
            full = stretch.result
        }
        try primitive.execute(
            [(PrimitiveArgument.src, full), (PrimitiveArgument.src1, second), (PrimitiveArgument.dst, destination)],
            context: context)
        if backwardState != nil { saved = (full, second) }
        return destination
    }

    func backward(_ outputGradient: Memory) throws -> [Memory] {
        guard let state = backwardState, let saved else { return [] }
        let dy = try state.diffDst(outputGradient)
        // y = f ∘ s with s broadcast: for +, df = dy and ds = Σ dy; for ·, df = dy·s and ds = Σ dy·f, the sums over
        // the axes s was stretched along (and, when f was itself stretched from a, da = Σ df likewise)
        var fullGradient = dy, secondGradient = dy
        if let product = state.product, let df = state.fullGradient, let ds = state.secondGradient {
            try primitive.execute(
                [(PrimitiveArgument.src, dy), (PrimitiveArgument.src1, saved.second), (PrimitiveArgument.dst, df)],
                context: context)
            try product.execute(
                [(PrimitiveArgument.src, dy), (PrimitiveArgument.src1, saved.full), (PrimitiveArgument.dst, ds)],
                context: context)
            (fullGradient, secondGradient) = (df, ds)
        }
        if let reduceFull = state.reduceFull { fullGradient = try reduceFull(fullGradient) }
        secondGradient = try state.reduceSecond(secondGradient)
        return fullInput == 1 ? [secondGradient, fullGradient] : [fullGradient, secondGradient]
    }
}
