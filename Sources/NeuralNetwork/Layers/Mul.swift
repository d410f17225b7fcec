/// Element-wise product of two inputs with NumPy/ONNX broadcasting (the squeeze-and-excitation gate
/// N×C×H×W · N×C×1×1, in either order), on oneDNN's binary multiply.
public final class Mul: Layer {
    public let op = "Mul"
    public init() {}
    public var parameters: [Parameter] { [] }
    public var attributes: [String: AttributeValue] { [:] }

    public func outputShape(for inputShapes: [[Int]], node: String) throws -> [Int] {
        try broadcastShape(inputShapes, layer: op, node: node)
    }

    public func compile(inputs: [MemoryDescriptor], options: CompileOptions) throws -> CompiledLayer {
        try CompiledBroadcastBinary(.multiply, inputs: inputs, options: options)
    }
}
