/// 2-D pooling layers as PyTorch's `nn.MaxPool2d`, `nn.AvgPool2d` (both with `ceil_mode`, max with dilation),
/// `nn.AdaptiveAvgPool2d(1)` (GlobalAvgPool) and `nn.AdaptiveMaxPool2d(1)` (GlobalMaxPool), on oneDNN.
public final class Pool2d: Layer {
    public enum Kind: Equatable { case max, average(countIncludePad: Bool), global, globalMax }

    public let kind: Kind
    public let kernel: [Int]
    public let stride: [Int]
    public let paddingBegin: [Int]
    public let paddingEnd: [Int]
    /// PyTorch's dilation (1 = dense); max pooling only, as in PyTorch.
    public let dilation: [Int]
    /// PyTorch's `ceil_mode`: the output size rounds up, so a last window may run past the padded input as long
    /// as it starts inside the input or its left padding.
    public let ceilMode: Bool

    public init(kind: Kind, kernelSize: [Int] = [1, 1], stride: [Int]? = nil, padding: [Int] = [0, 0],
                paddingEnd: [Int]? = nil, dilation: [Int] = [1, 1], ceilMode: Bool = false) {
        self.kind = kind
        self.kernel = kernelSize
        self.stride = stride ?? kernelSize
        self.paddingBegin = padding
        self.paddingEnd = paddingEnd ?? padding
        self.dilation = dilation
        self.ceilMode = ceilMode
    }

    public var op: String {
        switch kind {
        case .max: return "MaxPool2d"
        case .average: return "AvgPool2d"
        case .global: return "GlobalAvgPool"
        case .globalMax: return "GlobalMaxPool"
        }
    }

    public var parameters: [Parameter] { [] }

    /// Non-default `dilation` and `ceil_mode` only, so that files written before they existed stay the same.
    public var attributes: [String: AttributeValue] {
        var values: [String: AttributeValue] = [
            "kernel_size": .ints(kernel), "stride": .ints(stride), "padding": .ints(paddingBegin + paddingEnd),
        ]
        switch kind {
        case .global, .globalMax: return [:]
        case .max: if dilation != [1, 1] { values["dilation"] = .ints(dilation) }
        case .average(let include): values["count_include_pad"] = .bool(include)
        }
        if ceilMode { values["ceil_mode"] = .bool(true) }
        return values
    }

    /// The pooling oneDNN runs for one input size: `end` includes the extra end padding that ceil mode needs, and
    /// `overhang` says per axis whether some window runs past the explicitly padded input.
    struct Window {
        var kernel, stride, begin, end, dilation, output: [Int]
        var overhang: [Bool]
    }

    /// The window for an input of spatial size `input`, or nil when it cannot pool it.
    func window(for input: [Int]) -> Window? {
        if kind == .global || kind == .globalMax {
            return Window(kernel: input, stride: [1, 1], begin: [0, 0], end: [0, 0], dilation: [1, 1], output: [1, 1],
                          overhang: [false, false])
        }
        var w = Window(kernel: kernel, stride: stride, begin: paddingBegin, end: paddingEnd, dilation: dilation,
                       output: [0, 0], overhang: [false, false])
        for i in 0..<2 {
            let span = dilation[i] * (kernel[i] - 1) + 1
            let padded = input[i] + paddingBegin[i] + paddingEnd[i]
            guard kernel[i] >= 1, stride[i] >= 1, dilation[i] >= 1, paddingBegin[i] >= 0, paddingEnd[i] >= 0,
                  paddingBegin[i] < span, paddingEnd[i] < span, padded >= span else { return nil }
            // PyTorch's pooling_output_shape: round up in ceil mode, but drop a last window that would start in
            // the end padding (or past it)
            var count = (padded - span + (ceilMode ? stride[i] - 1 : 0)) / stride[i] + 1
            if ceilMode && (count - 1) * stride[i] >= input[i] + paddingBegin[i] { count -= 1 }
            let extra = max(0, (count - 1) * stride[i] + span - padded)
            w.output[i] = count
            w.end[i] += extra
            w.overhang[i] = extra > 0
        }
        return w
    }

    public func outputShape(for inputShapes: [[Int]], node: String) throws -> [Int] {
        guard inputShapes.count == 1, inputShapes[0].count == 4 else {
            throw ModelError("\(op) '\(node)' needs one N×C×H×W input, got \(inputShapes)")
        }
        if case .average = kind, dilation != [1, 1] {
            throw ModelError("AvgPool2d '\(node)': dilation \(dilation) is not supported (PyTorch's AvgPool2d has none)")
        }
        let x = inputShapes[0]
        guard let w = window(for: [x[2], x[3]]) else {
            throw ModelError("\(op) '\(node)' (kernel \(kernel), stride \(stride), padding \(paddingBegin)/\(paddingEnd), "
                + "dilation \(dilation)) cannot pool input \(x): the kernel must fit the padded input, sizes must be "
                + "positive and padding smaller than the dilated kernel")
        }
        return [x[0], x[1]] + w.output
    }

    public func compile(inputs: [MemoryDescriptor], options: CompileOptions) throws -> CompiledLayer {
        let x = inputs[0].dims
        let outputDims = try outputShape(for: [x], node: op)
        let w = window(for: [x[2], x[3]])!
        let algorithm: Pooling.Kind
        var divisors: Tensor?
        switch kind {
        case .max, .globalMax: algorithm = .max
        case .global: algorithm = .average(countIncludePad: true)
        case .average(let include):
            algorithm = .average(countIncludePad: include)
            if include && w.overhang.contains(true) { divisors = divisorCorrection(window: w, input: [x[2], x[3]]) }
        }
        let pooling = try CompiledPooling(
            kind: algorithm, input: inputs[0], outputDims: outputDims, kernel: w.kernel, stride: w.stride,
            begin: w.begin, end: w.end, dilation: w.dilation, options: options)
        guard let divisors else { return pooling }
        return try CompiledScaledPooling(pooling: pooling, scale: divisors, options: options)
    }

    /// 1×1×OH×OW factors K_H·K_W / d: oneDNN's include-padding average always divides by the whole kernel, while
    /// PyTorch's divisor d counts the window only up to the end of the explicit padding (ceil mode's extra end
    /// padding is not counted).
    func divisorCorrection(window w: Window, input: [Int]) -> Tensor {
        func counts(_ axis: Int) -> [Int] {
            (0..<w.output[axis]).map { o in
                let start = o * w.stride[axis] - w.begin[axis]
                return min(start + w.kernel[axis], input[axis] + paddingEnd[axis]) - start
            }
        }
        let rows = counts(0), columns = counts(1)
        let area = Float(w.kernel[0] * w.kernel[1])
        var scalars: [Float] = []
        for r in rows { for c in columns { scalars.append(area / Float(r * c)) } }
        return Tensor(shape: [1, 1, rows.count, columns.count], scalars: scalars)
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
         begin: [Int], end: [Int], dilation: [Int] = [1, 1], options: CompileOptions) throws {
        context = options.context
        context.activate()
        let training = options.mode == .training && options.needsBackward && options.needsInputGradient
        let forward = try Pooling.forward(
            kind, source: input, destination: .any(outputDims), kernel: kernel, strides: stride, paddingBegin: begin,
            paddingEnd: end, dilation: dilation, training: training)
        forwardPrimitive = try forward.makePrimitive()
        output = forward.memoryDescriptor(.dst)
        destination = try Memory(output)
        let ws = forward.memoryDescriptor(.workspace)
        workspace = ws.isZero ? nil : try Memory(ws)
        guard training else { return }
        let pd = try Pooling.backward(
            kind, diffSource: input, diffDestination: output, kernel: kernel, strides: stride, paddingBegin: begin,
            paddingEnd: end, dilation: dilation, hint: forward)
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

/// An include-padding average pooling whose windows run past the padded input (ceil mode): oneDNN's result
/// times a per-position factor that turns its whole-kernel divisor into PyTorch's.
final class CompiledScaledPooling: CompiledLayer {
    // p = pool(x): N×C×OH×OW (oneDNN layout); s: 1×1×OH×OW plain; y = p ⊙ s (broadcast over N and C)
    let pooling: CompiledPooling
    let context: ComputeContext
    let scale: Memory
    let multiply: Primitive
    let destination: Memory
    var ownedOutput: Memory? { destination }
    var output: MemoryDescriptor { destination.descriptor }
    let gradientAdapter: LayoutAdapter
    let poolGradient: Memory

    init(pooling: CompiledPooling, scale factors: Tensor, options: CompileOptions) throws {
        self.pooling = pooling
        context = options.context
        context.activate()
        scale = try Memory(.plain(factors.shape))
        scale.setPlainScalars(factors.scalars)
        let pd = try Combine.binary(.multiply, pooling.output, scale.descriptor, destination: pooling.output)
        multiply = try pd.makePrimitive()
        destination = try Memory(pooling.output)
        gradientAdapter = LayoutAdapter(target: pooling.output, context: context)
        poolGradient = try Memory(pooling.output)
    }

    func forward(_ inputs: [Memory]) throws -> Memory {
        let p = try pooling.forward(inputs)
        try multiply.execute([(PrimitiveArgument.src, p), (PrimitiveArgument.src1, scale),
                              (PrimitiveArgument.dst, destination)], context: context)
        return destination
    }

    func backward(_ outputGradient: Memory) throws -> [Memory] {
        // y = p ⊙ s with s constant, so dp = dy ⊙ s; then the pooling's own backward
        guard pooling.backwardState != nil else { return [] }
        try multiply.execute([(PrimitiveArgument.src, try gradientAdapter(outputGradient)), (PrimitiveArgument.src1, scale),
                              (PrimitiveArgument.dst, poolGradient)], context: context)
        return try pooling.backward(poolGradient)
    }
}
