/// What can be wrong with an ONNX file Graft is asked to import, each reason naming the node, operator,
/// attribute, opset or tensor at fault and, where there is one, what to do.

/// An ONNX file that could not be imported: which file, and why.
public typealias ONNXError = ModelFileError<ONNXProblem>

public enum ONNXProblem: ModelFileProblem {
    /// Not a protobuf ModelProto at all (`detail` says what it looks like instead).
    case notONNX(detail: String)
    /// The protobuf ends inside a field, or a field's encoding is invalid.
    case malformed(detail: String)
    case tooLarge(bytes: Int, limit: Int)
    case unsupportedOpset(domain: String, version: Int, supported: ClosedRange<Int>)
    case unsupportedOperator(node: String, op: String, opset: Int, supported: [String])
    case unsupportedAttribute(node: String, op: String, attribute: String, value: String, opset: Int, why: String)
    /// A construct Graft cannot represent (a node whose inputs it cannot map, a shape it cannot run).
    case unsupportedGraph(node: String, op: String, why: String)
    case tensorSize(tensor: String, detail: String)
    case externalData(tensor: String, detail: String)
    /// A node reads a value no earlier node, input or initializer produces: a cycle, or nodes out of order.
    case cycleOrMissing(node: String, input: String)
    case inputs(detail: String)
    /// The translated graph failed Graft's own checks (shapes); `detail` is the engine's message.
    case invalidModel(detail: String)

    public static var fileKind: String { "ONNX file" }

    public var phrase: String {
        switch self {
        case .notONNX(let detail):
            return "is not an ONNX model: \(detail); export one with torch.onnx.export or tf2onnx"
        case .malformed(let detail):
            return "is not a valid protobuf (\(detail)); the file may be truncated or corrupt — export it again"
        case .tooLarge(let bytes, let limit):
            return "is \(bytes) bytes, more than the \(limit) bytes Graft imports"
        case .unsupportedOpset(let domain, let version, let supported):
            return "uses opset \(version) of domain '\(domain.isEmpty ? "ai.onnx" : domain)'; Graft imports ai.onnx opsets "
                + "\(supported.lowerBound)–\(supported.upperBound) (export again with opset_version in that range)"
        case .unsupportedOperator(let node, let op, let opset, let supported):
            return "node '\(node)': operator \(op) (opset \(opset)) is not supported; Graft imports "
                + supported.joined(separator: ", ")
        case .unsupportedAttribute(let node, let op, let attribute, let value, let opset, let why):
            return "node '\(node)': \(op) (opset \(opset)) attribute \(attribute) = \(value) is not supported: \(why)"
        case .unsupportedGraph(let node, let op, let why):
            return "node '\(node)' (\(op)): \(why)"
        case .tensorSize(let tensor, let detail):
            return "tensor '\(tensor)': \(detail)"
        case .externalData(let tensor, let detail):
            return "tensor '\(tensor)': external data \(detail)"
        case .cycleOrMissing(let node, let input):
            return "node '\(node)' reads '\(input)', which no earlier node, graph input or initializer produces "
                + "(the graph has a cycle or is not in topological order)"
        case .inputs(let detail):
            return detail
        case .invalidModel(let detail):
            return "does not translate into a runnable Graft model: \(detail)"
        }
    }
}
