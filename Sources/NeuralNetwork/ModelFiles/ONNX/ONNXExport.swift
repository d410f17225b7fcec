/// `graft export onnx`: a Graft model folder as an ONNX file that ONNX Runtime, OpenVINO and other runtimes read —
/// opset 13, a dynamic batch, the logits as output, weights as raw float32 initializers, and the manifest's input
/// spec, labels and head in the metadata so that an import can restore them.
import Foundation
import SwiftProtobuf
import Tensors

/// Writes a `ModelFolder` as an ONNX `ModelProto` (the operators of each op are in `ONNXExport+Operators.swift`).
public enum ONNXExport {
    /// ai.onnx opset 13 and IR version 8: what ONNX Runtime and OpenVINO of 2026 accept, and the opset PyTorch
    /// exports by default, so that every runtime that reads PyTorch's files reads ours.
    public static let opset = 13
    public static let irVersion = 8
    public static let producerName = "graft"
    /// The graph's input (normalised N×C×H×W, as `InputSpec` prepares it) and output (N×classes logits).
    public static let inputName = "input"
    public static let outputName = "logits"
    /// The symbolic batch dimension of the input and the output.
    public static let batchDimension = "batch"

    /// The `metadata_props` keys: JSON values an importer reads to restore what ONNX itself has no field for.
    public enum MetadataKey {
        /// The `InputSpec` as in `model.json` (channels, size, resize policy, crop fraction, mean, std).
        public static let input = "graft.input"
        /// The class names as a JSON array, in output order.
        public static let labels = "graft.labels"
        /// The name of the head node (the classifier replaced when fine-tuning).
        public static let head = "graft.head"
        public static let provenance = "graft.provenance"
        public static let metrics = "graft.metrics"
        public static let formatVersion = "graft.format_version"
    }

    /// The serialized ONNX file of `model`. Throws a `ModelError` naming the node for an op with no ONNX mapping.
    public static func export(_ model: ModelFolder) throws -> Data {
        try modelProto(model).serializedBytes()
    }

    /// The same, written to `url` (atomically: a failed export leaves no partial file).
    public static func export(_ model: ModelFolder, to url: URL) throws {
        try export(model).write(to: url, options: .atomic)
    }

    static func modelProto(_ model: ModelFolder) throws -> Onnx_ModelProto {
        let manifest = model.manifest
        let builder = try ONNXGraphBuilder(graph: model.graph, inputShape: manifest.inputShape(batch: 1))
        try builder.build()

        var graph = builder.proto
        graph.name = manifest.provenance["base"] ?? manifest.head
        graph.input = [valueInfo(inputName, dims: [manifest.input.channels, manifest.input.height, manifest.input.width])]
        graph.output = [valueInfo(outputName, dims: [builder.classes])]

        var proto = Onnx_ModelProto()
        proto.irVersion = Int64(irVersion)
        var opsetID = Onnx_OperatorSetIdProto()
        opsetID.domain = ""
        opsetID.version = Int64(opset)
        proto.opsetImport = [opsetID]
        proto.producerName = producerName
        proto.docString = "Exported by Graft. Input: N×\(manifest.input.channels)×\(manifest.input.height)×"
            + "\(manifest.input.width) images normalised with graft.input's mean and std; output: logits (no softmax)."
        proto.graph = graph
        proto.metadataProps = try metadata(manifest).map { key, value in
            var entry = Onnx_StringStringEntryProto()
            entry.key = key
            entry.value = value
            return entry
        }
        return proto
    }

    /// The manifest's fields as JSON strings, in a fixed order.
    static func metadata(_ manifest: ModelManifest) throws -> [(String, String)] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        func json<T: Encodable>(_ value: T) throws -> String { String(decoding: try encoder.encode(value), as: UTF8.self) }
        return [
            (MetadataKey.formatVersion, "\(manifest.formatVersion)"),
            (MetadataKey.input, try json(manifest.input)),
            (MetadataKey.labels, try json(manifest.labels)),
            (MetadataKey.head, manifest.head),
            (MetadataKey.provenance, try json(manifest.provenance)),
            (MetadataKey.metrics, try json(manifest.metrics)),
        ]
    }

    /// A float tensor value whose first dimension is the symbolic batch.
    static func valueInfo(_ name: String, dims: [Int]) -> Onnx_ValueInfoProto {
        var shape = Onnx_TensorShapeProto()
        var batch = Onnx_TensorShapeProto.Dimension()
        batch.dimParam = batchDimension
        shape.dim = [batch] + dims.map { size in
            var dim = Onnx_TensorShapeProto.Dimension()
            dim.dimValue = Int64(size)
            return dim
        }
        var tensorType = Onnx_TypeProto.Tensor()
        tensorType.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensorType.shape = shape
        var type = Onnx_TypeProto()
        type.tensorType = tensorType
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type = type
        return info
    }
}

/// Turns a Graft graph into ONNX nodes and initializers, node by node in graph order.
///
/// ONNX value names are Graft's node names (which have no dots), the helper values and weights of a node are
/// `node.something` (as the state dict's keys), so no two can collide; the head's value is `logits`.
final class ONNXGraphBuilder {
    let graph: Graph
    /// The graph input's shape at batch 1.
    let inputShape: [Int]
    /// Every node's output shape at batch 1.
    let shapes: [[Int]]
    /// The node whose output is the logits: the head, or the input of a final Softmax.
    let output: Int
    /// Nodes the logits depend on (the others are not exported).
    let needed: [Bool]
    let consumers: [[Int]]
    var proto = Onnx_GraphProto()
    /// The ONNX value holding each node's result once emitted (a Dropout's is its input's).
    private(set) var values: [String?]
    /// BatchNorms folded into the convolution before them.
    private var folded: Set<Int> = []
    private var names: Set<String> = [ONNXExport.inputName]

    init(graph: Graph, inputShape: [Int]) throws {
        self.graph = graph
        self.inputShape = inputShape
        shapes = try graph.shapes(for: inputShape)
        var output = graph.outputIndex
        if graph.nodes[output].op == "Softmax", let source = graph.inputIndices[output].first, source >= 0 {
            output = source  // the logits, not probabilities: runtimes' users apply softmax as Graft does
        }
        self.output = output
        var needed = [Bool](repeating: false, count: graph.nodes.count)
        needed[output] = true
        for i in stride(from: output, through: 0, by: -1) where needed[i] {
            for j in graph.inputIndices[i] where j >= 0 { needed[j] = true }
        }
        self.needed = needed
        var consumers = [[Int]](repeating: [], count: graph.nodes.count)
        for (i, inputs) in graph.inputIndices.enumerated() where needed[i] {
            for j in inputs where j >= 0 { consumers[j].append(i) }
        }
        self.consumers = consumers
        values = [String?](repeating: nil, count: graph.nodes.count)
    }

    /// Classes of the logits.
    var classes: Int { shapes[output].last ?? 0 }

    func build() throws {
        for i in graph.nodes.indices where needed[i] && !folded.contains(i) { try emit(i) }
        // The logits are a node's own output unless it is an alias (Dropout) or was folded away.
        if values[output] != ONNXExport.outputName {
            node("Identity", name: "\(graph.nodes[output].name).logits", inputs: [values[output]!],
                 output: ONNXExport.outputName)
        }
    }

    // MARK: - Values, initializers and nodes

    /// The value name of node `i`'s result: `logits` for the output node, its own name otherwise (a node that
    /// happens to be named `logits` but is not the output gets `logits.node`).
    func valueName(_ i: Int) -> String {
        if i == output { return ONNXExport.outputName }
        let name = graph.nodes[i].name
        return name == ONNXExport.outputName ? name + ".node" : name
    }

    /// The ONNX values node `i` reads.
    func inputs(_ i: Int) -> [String] {
        graph.inputIndices[i].map { $0 < 0 ? ONNXExport.inputName : values[$0]! }
    }

    func bind(_ i: Int, _ value: String) { values[i] = value }

    private func claim(_ name: String) {
        precondition(names.insert(name).inserted, "ONNX value '\(name)' would be defined twice")
    }

    /// A float32 initializer (raw little-endian bytes); returns its name.
    @discardableResult
    func initializer(_ name: String, shape: [Int], floats: [Float]) -> String {
        precondition(shape.reduce(1, *) == floats.count, "initializer \(name): \(floats.count) values for \(shape)")
        claim(name)
        var tensor = Onnx_TensorProto()
        tensor.name = name
        tensor.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensor.dims = shape.map(Int64.init)
        var data = Data(capacity: 4 * floats.count)
        data.appendLittleEndian(floats)
        tensor.rawData = data
        proto.initializer.append(tensor)
        return name
    }

    /// A 1-D int64 initializer (shapes, pads, slice bounds); returns its name.
    @discardableResult
    func initializer(_ name: String, int64s: [Int]) -> String {
        claim(name)
        var tensor = Onnx_TensorProto()
        tensor.name = name
        tensor.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        tensor.dims = [Int64(int64s.count)]
        var data = Data(capacity: 8 * int64s.count)
        for value in int64s { data.appendLittleEndian(Int64(value)) }
        tensor.rawData = data
        proto.initializer.append(tensor)
        return name
    }

    /// A float32 scalar initializer (Clip's bounds, Pad's value).
    func scalar(_ name: String, _ value: Float) -> String { initializer(name, shape: [], floats: [value]) }

    func node(_ op: String, name: String, inputs: [String], output: String, attributes: [Onnx_AttributeProto] = []) {
        claim(output)
        var node = Onnx_NodeProto()
        node.opType = op
        node.name = name
        node.input = inputs
        node.output = [output]
        node.attribute = attributes
        proto.node.append(node)
    }

    /// Folds BatchNorm `norm` into the convolution before it: marks it done and makes its value the conv's output.
    func fold(_ norm: Int) -> String {
        folded.insert(norm)
        let value = valueName(norm)
        bind(norm, value)
        return value
    }

    // MARK: - Attributes

    static func attribute(_ name: String, ints: [Int]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .ints
        a.ints = ints.map(Int64.init)
        return a
    }

    static func attribute(_ name: String, int: Int) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .int
        a.i = Int64(int)
        return a
    }

    static func attribute(_ name: String, float: Float) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .float
        a.f = float
        return a
    }
}
