/// 2-D pooling layers as PyTorch's `nn.MaxPool2d`, `nn.AvgPool2d` and `nn.AdaptiveAvgPool2d(1)`
/// (GlobalAvgPool), on oneDNN.
public final class Pool2d: Layer {
    public enum Kind: Equatable { case max, average(countIncludePad: Bool), global }

    public let kind: Kind
    public let kernel: [Int]
    public let stride: [Int]
    public let paddingBegin: [Int]
    public let paddingEnd: [Int]

    public init(kind: Kind, kernelSize: [Int] = [1, 1], stride: [Int]? = nil, padding: [Int] = [0, 0],
                paddingEnd: [Int]? = nil) {
        self.kind = kind
        self.kernel = kernelSize
        self.stride = stride ?? kernelSize
        self.paddingBegin = padding
        self.paddingEnd = paddingEnd ?? padding
    }

    public var op: String {
        switch kind {
        case .max: return "MaxPool2d"
        case .average: return "AvgPool2d"
        case .global: return "GlobalAvgPool"
        }
    }

    public var parameters: [Parameter] { [] }

    public var attributes: [String: AttributeValue] {
        switch kind {
        case .global: return [:]
        case .max:
            return ["kernel_size": .ints(kernel), "stride": .ints(stride), "padding": .ints(paddingBegin + paddingEnd)]
        case .average(let include):
            return ["kernel_size": .ints(kernel), "stride": .ints(stride), "padding": .ints(paddingBegin + paddingEnd),
                    "count_include_pad": .bool(include)]
        }
    }

    /// Kernel, stride and padding for an input of spatial size `input`.
    func window(for input: [Int]) -> (kernel: [Int], stride: [Int], begin: [Int], end: [Int]) {
        kind == .global ? (input, [1, 1], [0, 0], [0, 0]) : (kernel, stride, paddingBegin, paddingEnd)
    }

    public func outputShape(for inputShapes: [[Int]], node: String) throws -> [Int] {
        guard inputShapes.count == 1, inputShapes[0].count == 4 else {
            throw ModelError("\(op) '\(node)' needs one N×C×H×W input, got \(inputShapes)")
        }
        let x = inputShapes[0]
        let w = window(for: [x[2], x[3]])
        let geometry = ConvolutionGeometry(strides: w.stride, dilations: [1, 1], paddingBegin: w.begin,
                                           paddingEnd: w.end, groups: 1)
        guard w.kernel.allSatisfy({ $0 >= 1 }), w.stride.allSatisfy({ $0 >= 1 }),
              (0..<2).allSatisfy({ w.begin[$0] < w.kernel[$0] && w.end[$0] < w.kernel[$0] }),
              let spatial = geometry.outputSize(input: [x[2], x[3]], kernel: w.kernel) else {
            throw ModelError("\(op) '\(node)' (kernel \(w.kernel), stride \(w.stride), padding \(w.begin)/\(w.end)) "
                + "cannot pool input \(x): the kernel must fit the padded input and padding must be smaller than the kernel")
        }
        return [x[0], x[1]] + spatial
    }

    public func compile(inputs: [MemoryDescriptor], options: CompileOptions) throws -> CompiledLayer {
        let x = inputs[0].dims
        let w = window(for: [x[2], x[3]])
        let algorithm: Pooling.Kind
        switch kind {
        case .max: algorithm = .max
        case .average(let include): algorithm = .average(countIncludePad: include)
        case .global: algorithm = .average(countIncludePad: true)
        }
        return try CompiledPooling(
            kind: algorithm, input: inputs[0], outputDims: try outputShape(for: [x], node: op),
            kernel: w.kernel, stride: w.stride, begin: w.begin, end: w.end, options: options)
    }
}

/// One oneDNN pooling with its backward (and the max-pooling workspace of arg-max positions).
final class CompiledPooling: CompiledLayer {
    // x: N×C×H×W (input layout), y: N×C×OH×OW (oneDNN layout)
    let context: ComputeContext
    let output: MemoryDescriptor
    let forwardPrimitive: Primitive
    let destination: Memory
    var ownedOutput: Memory? { destination }
    let workspace: Memory?
    var backwardState: (primitive: Primitive, diffDst: LayoutAdapter, diffSrc: Memory)?

    init(kind: Pooling.Kind, input: MemoryDescriptor, outputDims: [Int], kernel: [Int], stride: [Int],
         begin: [Int], end: [Int], options: CompileOptions) throws {
        context = options.context
        context.activate()
        let training = options.mode == .training && options.needsBackward && options.needsInputGradient
        let forward = try Pooling.forward(
            kind, source: input, destination: .any(outputDims), kernel: kernel, strides: stride, paddingBegin: begin,
            paddingEnd: end, training: training)
        forwardPrimitive = try forward.makePrimitive()
        output = forward.memoryDescriptor(.dst)
        destination = try Memory(output)
        let ws = forward.memoryDescriptor(.workspace)
        workspace = ws.isZero ? nil : try Memory(ws)
        guard training else { return }
        let pd = try Pooling.backward(
            kind, diffSource: input, diffDestination: output, kernel: kernel, strides: stride, paddingBegin: begin,
            paddingEnd: end, hint: forward)
        backwardState = (try pd.makePrimitive(), LayoutAdapter(target: pd.memoryDescriptor(.diffDst), context: context),
                         try Memory(pd.memoryDescriptor(.diffSrc)))
    }

    func forward(_ inputs: [Memory]) throws -> Memory {
        var args: [(Int32, Memory)] = [(PrimitiveArgument.src, inputs[0]), (PrimitiveArgument.dst, destination)]
        if let workspace { args.append((PrimitiveArgument.workspace, workspace)) }
        try forwardPrimitive.execute(args, context: context)
        return destination
    }

    func backward(_ outputGradient: Memory) throws -> [Memory] {
        // max: dy goes to the arg-max of each window; average: dy / divisor to every element of the window
        guard let state = backwardState else { return [] }
        var args: [(Int32, Memory)] = [
            (PrimitiveArgument.diffDst, try state.diffDst(outputGradient)), (PrimitiveArgument.diffSrc, state.diffSrc),
        ]
        if let workspace { args.append((PrimitiveArgument.workspace, workspace)) }
        try state.primitive.execute(args, context: context)
        return [state.diffSrc]
    }
}
