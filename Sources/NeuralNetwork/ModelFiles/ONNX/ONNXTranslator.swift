/// Turns an ONNX graph into Graft nodes and weights: constants and shape sub-graphs folded, exporter patterns
/// (SiLU, HardSwish, channel shuffle, MatMul + Add, zero Pad before Conv) recognised, every other operator mapped
/// one to one onto an engine layer, and anything else refused with the node, operator, attribute and opset named.
import Foundation
import Tensors

final class ONNXTranslator {
    /// The operators the importer maps (some only in the forms their errors describe).
    static let supportedOperators = [
        "Add", "AveragePool", "BatchNormalization", "Cast", "Clip", "Concat", "Constant", "Conv", "Div", "Dropout",
        "Flatten", "Gather", "Gemm", "GlobalAveragePool", "GlobalMaxPool", "HardSigmoid", "HardSwish", "Identity",
        "LRN", "LeakyRelu", "MatMul", "MaxPool", "Mul", "Pad", "ReduceMean", "Relu", "Reshape", "Shape", "Sigmoid",
        "Slice", "Softmax", "Split", "Squeeze", "Sub", "Transpose", "Unsqueeze",
    ]

    let file: ONNXFile
    private(set) var nodes: [NodeSpec] = []
    private(set) var shapes: [[Int]] = []
    private(set) var weights: [String: Tensor] = [:]
    /// Nodes replaced by a fused successor (their only consumer), dropped from the result.
    private(set) var removed: Set<String> = []
    private(set) var foldedConstants = 0
    private(set) var notes: [String] = []
    private var values: [String: ONNXValue] = [:]
    /// ONNX value → the ONNX node that produced it (for pattern matching).
    private var producers: [String: Onnx_NodeProto] = [:]
    /// ONNX value → how many node inputs and graph outputs read it.
    private var consumers: [String: Int] = [:]
    private var nodeIndex: [String: Int] = [:]
    private var usedNames: Set<String> = [Graph.inputName]
    private var generator = SeededGenerator(seed: 0)
    /// The batch size the exporter fixed in the input's declaration, if it fixed one.
    private var declaredBatch: Int?
    private var graphInputShape: [Int] = []
    private var opset: Int { file.opset }
    private var path: String { file.url.path }

    init(file: ONNXFile) { self.file = file }

    // MARK: - Driver

    /// Translates the whole graph for an input of `channels`×`height`×`width`; returns the Graft node computing the
    /// graph output.
    func translate(inputName: String, inputShape: [Int], declaredBatch: Int?) throws -> String {
        let graph = file.model.graph
        self.declaredBatch = declaredBatch
        graphInputShape = inputShape
        for (name, value) in file.initializers { values[name] = .constant(value) }
        values[inputName] = .tensor(node: Graph.inputName, shape: inputShape)
        for node in graph.node { for input in node.input where !input.isEmpty { consumers[input, default: 0] += 1 } }
        for output in graph.output { consumers[output.name, default: 0] += 1 }
        for (index, node) in graph.node.enumerated() {
            for output in node.output where !output.isEmpty { producers[output] = node }
            try translate(node, index: index)
        }
        guard graph.output.count == 1 else {
            throw ONNXError(file: path, reason: .inputs(detail:
                "has \(graph.output.count) graph outputs (\(graph.output.map(\.name).joined(separator: ", "))); a classifier has one"))
        }
        let (output, _) = try tensor(graph.output[0].name, for: Onnx_NodeProto.with { $0.name = "graph output"; $0.opType = "Output" })
        return output
    }

    private func translate(_ node: Onnx_NodeProto, index: Int) throws {
        var node = node
        if node.name.isEmpty { node.name = "\(node.opType)_\(index)" }
        for input in node.input where !input.isEmpty && values[input] == nil {
            throw ONNXError(file: path, reason: .cycleOrMissing(node: node.name, input: input))
        }
        let handler = Handler(node: node, translator: self)
        try handler.checkAttributes()
        try handler.run()
    }

    // MARK: - Values

    func constant(from tensor: Onnx_TensorProto) throws -> Constant { try file.constant(from: tensor) }

    func value(_ name: String) -> ONNXValue? { values[name] }

    func set(_ name: String, _ value: ONNXValue) {
        if case .constant = value { foldedConstants += 1 }
        values[name] = value
    }

    func consumerCount(_ name: String) -> Int { consumers[name] ?? 0 }
    func producer(_ name: String) -> Onnx_NodeProto? { producers[name] }

    /// The Graft node (and its batch-1 shape) computing `name`, emitting a pending pattern first if needed.
    func tensor(_ name: String, for node: Onnx_NodeProto) throws -> (String, [Int]) {
        switch values[name] {
        case .tensor(let graftNode, let shape)?:
            return (graftNode, shape)
        case .pendingPad(let source, let shape, let pads, let value)?:
            let (input, _) = try tensor(source, for: node)
            let result = try emit(for: producers[name] ?? node, op: "Pad",
                                  attributes: ["pads": .ints(pads), "value": .float(Double(value))], inputs: [input])
            values[name] = .tensor(node: result.0, shape: result.1)
            _ = shape
            return result
        case .constant?:
            throw unsupported(node, "input '\(name)' is a constant where Graft needs a tensor computed from the image "
                + "(constant-only branches are folded; this one feeds a layer)")
        case .shuffleSplit?, .shuffleTransposed?:
            throw unsupported(node, "input '\(name)' is a 5-D reshape/transpose that is not a channel shuffle "
                + "(Graft runs 4-D feature maps; it recognises ShuffleNet's reshape–transpose–reshape)")
        case nil:
            throw ONNXError(file: path, reason: .cycleOrMissing(node: node.name, input: name))
        }
    }

    func constantValue(_ name: String, for node: Onnx_NodeProto) throws -> Constant {
        guard case .constant(let c)? = values[name] else {
            throw unsupported(node, "input '\(name)' must be a constant (an initializer or folded shape arithmetic): "
                + "Graft imports networks whose weights and shapes are fixed")
        }
        return c
    }

    func isConstant(_ name: String) -> Bool {
        if case .constant? = values[name] { return true }
        return false
    }

    /// True when the input's batch dimension is `dim` (the symbolic batch, or the batch the exporter fixed).
    func isBatch(_ element: ShapeElement) -> Bool {
        switch element {
        case .batch: return true
        case .value(let v): return declaredBatch.map { Int(v) == $0 } ?? false
        }
    }

    // MARK: - Emitting Graft nodes

    /// Adds a Graft node named after the ONNX node (PyTorch's module path when the exporter kept it), builds its
    /// layer to check the attributes and compute its shape, and records its weights.
    @discardableResult
    func emit(for onnx: Onnx_NodeProto, op: String, attributes: [String: AttributeValue], inputs: [String],
              weights params: [String: Tensor] = [:]) throws -> (String, [Int]) {
        let name = uniqueName(for: onnx, op: op)
        let spec = NodeSpec(name: name, op: op, attributes: attributes, inputs: inputs)
        let inputShapes = inputs.map { $0 == Graph.inputName ? graphInputShape : shapes[nodeIndex[$0]!] }
        let shape: [Int]
        do {
            let layer = try LayerFactory.make(spec, generator: &generator)
            shape = try layer.outputShape(for: inputShapes, node: name)
            for parameter in layer.parameters {
                guard let value = params[parameter.name] else {
                    throw ModelError("no value for its parameter '\(parameter.name)'")
                }
                guard value.shape == parameter.value.shape else {
                    throw ModelError("parameter '\(parameter.name)' has shape \(value.shape), the layer needs \(parameter.value.shape)")
                }
            }
        } catch let error as ModelError {
            throw ONNXError(file: path, reason: .unsupportedGraph(node: onnx.name, op: onnx.opType,
                                                                 why: "as Graft \(op): \(error.message)"))
        }
        nodeIndex[name] = nodes.count
        nodes.append(spec)
        shapes.append(shape)
        for (key, value) in params { weights["\(name).\(key)"] = value }
        return (name, shape)
    }

    /// Binds an ONNX output to a Graft node's result.
    func bind(_ output: String, _ result: (String, [Int])) {
        values[output] = .tensor(node: result.0, shape: result.1)
    }

    func spec(of graftNode: String) -> NodeSpec? { nodeIndex[graftNode].map { nodes[$0] } }

    func updateSpec(of graftNode: String, attributes: [String: AttributeValue], weights params: [String: Tensor]) {
        guard let i = nodeIndex[graftNode] else { return }
        nodes[i].attributes = attributes
        for (key, value) in params { weights["\(graftNode).\(key)"] = value }
    }

    /// Drops a node whose only consumer was fused with it (it must not be read by anything else).
    func remove(_ graftNode: String) {
        removed.insert(graftNode)
        weights = weights.filter { !$0.key.hasPrefix(graftNode + ".") }
    }

    func note(_ text: String) { notes.append(text) }

    /// The translated nodes without the removed ones.
    var result: [NodeSpec] { nodes.filter { !removed.contains($0.name) } }

    func shape(ofNode name: String) -> [Int]? { nodeIndex[name].map { shapes[$0] } }

    /// "/layer1/layer1.0/conv1/Conv" → "layer1_0_conv1": the PyTorch module path of torch.onnx's scoped names,
    /// which the freeze policies then address; other names are kept with '.' and '/' replaced.
    private func uniqueName(for node: Onnx_NodeProto, op: String) -> String {
        var parts = node.name.split(separator: "/").map(String.init)
        if node.name.hasPrefix("/"), parts.count >= 1 {
            parts.removeLast()  // the operator
            // each scope repeats its parent's path: keep the innermost qualified one and what follows it
            var qualified: [String] = []
            for part in parts {
                if let last = qualified.last, part.hasPrefix(last + ".") { qualified[qualified.count - 1] = part } else { qualified.append(part) }
            }
            parts = qualified
        }
        var base = parts.joined(separator: "_")
        if base.isEmpty { base = node.opType.isEmpty ? op : node.opType }
        base = String(base.map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" ? $0 : "_" })
        if base == Graph.inputName { base = "input_node" }
        var name = base
        if usedNames.contains(name) { name = "\(base)_\(op)" }
        var counter = 2
        while usedNames.contains(name) {
            name = "\(base)_\(op)_\(counter)"
            counter += 1
        }
        usedNames.insert(name)
        return name
    }

    // MARK: - Errors

    func unsupported(_ node: Onnx_NodeProto, _ why: String) -> ONNXError {
        ONNXError(file: path, reason: .unsupportedGraph(node: node.name, op: node.opType, why: why))
    }

    func unsupportedAttribute(_ node: Onnx_NodeProto, _ attribute: String, _ value: String, _ why: String) -> ONNXError {
        ONNXError(file: path, reason: .unsupportedAttribute(node: node.name, op: node.opType, attribute: attribute,
                                                           value: value, opset: opset, why: why))
    }

    func unsupportedOperator(_ node: Onnx_NodeProto) -> ONNXError {
        ONNXError(file: path, reason: .unsupportedOperator(node: node.name, op: node.opType, opset: opset,
                                                          supported: Self.supportedOperators))
    }

    var opsetVersion: Int { opset }
}
