import Foundation

/// Power-average pooling with p = 2 as PyTorch's `nn.LPPool2d(2, …)`: y = √(Σ_window x²). oneDNN has no
/// such primitive, so it is composed from square → average pool → scaled square root, with its own backward.
public final class LPPool2d: Layer {
    public let op = "LPPool2d"
    public let kernel: [Int]
    public let stride: [Int]

    public init(kernelSize: [Int], stride: [Int]? = nil) {
        kernel = kernelSize
        self.stride = stride ?? kernelSize
    }

    public var parameters: [Parameter] { [] }
    public var attributes: [String: AttributeValue] {
        ["norm_type": .int(2), "kernel_size": .ints(kernel), "stride": .ints(stride)]
    }

    public func outputShape(for inputShapes: [[Int]], node: String) throws -> [Int] {
        do {
            return try Pool2d(kind: .average(countIncludePad: true), kernelSize: kernel, stride: stride)
                .outputShape(for: inputShapes, node: node)
        } catch let error as ModelError {
            throw ModelError(error.message.replacingOccurrences(of: "AvgPool2d", with: "LPPool2d"))
        }
    }

    public func compile(inputs: [MemoryDescriptor], options: CompileOptions) throws -> CompiledLayer {
        try CompiledLPPool2d(layer: self, input: inputs[0], output: try outputShape(for: [inputs[0].dims], node: op),
                             options: options)
    }
}

final class CompiledLPPool2d: CompiledLayer {
    // x: N×C×H×W; s = x²; a = avgpool(s) (N×C×OH×OW); y = √K·a^½ with K = KH·KW, i.e. y = √(Σ_window x²)
    let square: CompiledEltwise
    let pool: CompiledPooling
    let root: CompiledEltwise
    var output: MemoryDescriptor { root.output }

    init(layer: LPPool2d, input: MemoryDescriptor, output: [Int], options: CompileOptions) throws {
        var inner = options
        inner.needsInputGradient = options.needsBackward && options.needsInputGradient
        square = try CompiledEltwise(function: .square, input: input, options: inner)
        pool = try CompiledPooling(
            kind: .average(countIncludePad: true), input: square.output, outputDims: output, kernel: layer.kernel,
            stride: layer.stride, begin: [0, 0], end: [0, 0], options: inner)
        let k = Float(layer.kernel.reduce(1, *))
        root = try CompiledEltwise(function: .power(scale: k.squareRoot(), exponent: 0.5), input: pool.output,
                                   options: inner)
    }

    func forward(_ inputs: [Memory]) throws -> Memory {
        try root.forward([try pool.forward([try square.forward(inputs)])])
    }

    func backward(_ outputGradient: Memory) throws -> [Memory] {
        // chain rule through the three steps: da = dy·√K/(2√a), ds = avgpool-backward(da), dx = ds·2x
        let da = try root.backward(outputGradient)
        guard let a = da.first else { return [] }
        let ds = try pool.backward(a)
        guard let s = ds.first else { return [] }
        return try square.backward(s)
    }
}
