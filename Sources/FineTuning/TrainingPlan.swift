/// How a run turns a base model into the network it trains: head swap, freeze policy, and the cut where the
/// frozen part ends (so that its output can be cached once per image).
import Foundation
import NeuralNetwork
import Tensors

/// The network of one run: the full graph (base + new head) and, when the frozen part ends at one node that
/// alone feeds everything that trains, that cut split into a frozen `prefix` and a trainable `suffix` graph.
/// All three share the same layer objects, so training the suffix trains the full graph.
public final class TrainingPlan {
    public let graph: Graph
    /// Names of the nodes that make up the new head.
    public let headNodes: [String]
    /// The node whose output feeds the whole trainable part, when there is exactly one (the cache boundary).
    public let boundary: String?
    /// Graph from the input to `boundary` (inference only), and from `boundary` (as its input) to the head.
    public let prefix: Graph?
    public let suffix: Graph?
    /// Nodes with at least one trainable weight.
    public let trainableNodes: [String]
    /// True when some node below the new head trains (its rate is then `body_learning_rate_scale` of the head's,
    /// after a warm-up).
    public let trainsBody: Bool

    /// Builds the run's network from a base model: the nodes that the head depends on, with the head node
    /// replaced by a fresh Linear (or Linear–ReLU–Dropout–Linear) for `classes` outputs initialised from
    /// `spec.seed`, base weights everywhere else, and weights frozen per `spec.freeze`.
    public init(base: ModelFolder, classes: Int, spec: FineTuneSpec, context: ComputeContext) throws {
        let manifest = base.manifest
        guard let headIndex = manifest.nodes.firstIndex(where: { $0.name == manifest.head }) else {
            throw FineTuneError.incompatibleModel(message: "head node '\(manifest.head)' is not in the graph")
        }
        let headSpec = manifest.nodes[headIndex]
        guard headSpec.inputs.count == 1 else {
            throw FineTuneError.incompatibleModel(message: "head node '\(manifest.head)' must have one input")
        }
        let shapes = try base.graph.shapes(for: manifest.inputShape(batch: 1))
        var featureInput = headSpec.inputs[0]
        var featureShape = featureInput == Graph.inputName ? manifest.inputShape(batch: 1)
            : shapes[manifest.nodes.firstIndex { $0.name == featureInput }!]
        // A pooled N×F×1×1 map (an imported network whose classifier is a convolution, as SqueezeNet's) is
        // flattened for the new Linear head.
        var flattenNode: NodeSpec?
        if featureShape.count == 4, featureShape[2] == 1, featureShape[3] == 1 {
            let name = "\(manifest.head)_features"
            guard !manifest.nodes.contains(where: { $0.name == name }) else {
                throw FineTuneError.incompatibleModel(message: "the base already has a node '\(name)'")
            }
            flattenNode = NodeSpec(name: name, op: "Flatten", inputs: [featureInput])
            featureInput = name
            featureShape = [featureShape[0], featureShape[1]]
        }
        guard featureShape.count == 2 else {
            throw FineTuneError.incompatibleModel(
                message: "the head '\(manifest.head)' reads '\(featureInput)' of shape \(featureShape); a Linear head needs N×F features")
        }
        let features = featureShape[1]
        // Keep only the head's ancestors (a trailing Softmax or auxiliary branch is dropped).
        var needed: Set<String> = [manifest.head]
        for node in manifest.nodes[...headIndex].reversed() where needed.contains(node.name) {
            node.inputs.forEach { needed.insert($0) }
        }
        var nodes = manifest.nodes[..<headIndex].filter { needed.contains($0.name) }
        let head = manifest.head
        var headNodes: [String] = []
        if let flattenNode {
            nodes.append(flattenNode)
            headNodes.append(flattenNode.name)
        }
        switch spec.head {
        case .linear:
            nodes.append(NodeSpec(name: head, op: "Linear", attributes: [
                "in_features": .int(features), "out_features": .int(classes)], inputs: [featureInput]))
            headNodes.append(head)
        case .mlp:
            let names = (hidden: "\(head)_hidden", relu: "\(head)_relu", dropout: "\(head)_dropout")
            for name in [names.hidden, names.relu, names.dropout] where nodes.contains(where: { $0.name == name }) {
                throw FineTuneError.incompatibleModel(message: "the base already has a node '\(name)'; use a linear head")
            }
            nodes.append(NodeSpec(name: names.hidden, op: "Linear", attributes: [
                "in_features": .int(features), "out_features": .int(spec.headHidden)], inputs: [featureInput]))
            nodes.append(NodeSpec(name: names.relu, op: "ReLU", inputs: [names.hidden]))
            nodes.append(NodeSpec(name: names.dropout, op: "Dropout", attributes: [
                "p": .float(spec.headDropout), "seed": .int(Int(truncatingIfNeeded: spec.seed & 0x7fff_ffff))],
                inputs: [names.relu]))
            nodes.append(NodeSpec(name: head, op: "Linear", attributes: [
                "in_features": .int(spec.headHidden), "out_features": .int(classes)], inputs: [names.dropout]))
            headNodes += [names.hidden, names.relu, names.dropout, head]
        }
        self.headNodes = headNodes
        // Layers: base nodes reuse fresh layers loaded with the base weights; head layers come from the seed.
        var generator = SeededGenerator(seed: spec.seed)
        let baseState = base.graph.stateDict()
        var layers: [Layer] = []
        for node in nodes {
            let layer = try LayerFactory.make(node, generator: &generator)
            if !headNodes.contains(node.name) {
                for parameter in layer.parameters {
                    guard let value = baseState["\(node.name).\(parameter.name)"] else {
                        throw FineTuneError.incompatibleModel(message: "no weight for '\(node.name).\(parameter.name)'")
                    }
                    parameter.value = value
                }
            }
            layers.append(layer)
        }
        // Freeze.
        let order = nodes.map(\.name)
        let frozenNames: Set<String>
        switch spec.freeze {
        case .backbone, .auto:
            // `auto` is resolved by the freeze search before a plan is built; as a plan, it is the linear probe.
            frozenNames = Set(order).subtracting(headNodes)
        case .none:
            frozenNames = []
        case .until(let name):
            guard let index = order.firstIndex(of: name), !headNodes.contains(name) else {
                throw FineTuneError.invalidSpec(
                    field: "freeze.until", message: "'\(name)' is not a node below the head of this base model")
            }
            frozenNames = Set(order[...index])
        case .trainableLayers(let count):
            let withWeights = zip(order, layers).filter { !$0.1.parameters.filter { $0.kind == .weight }.isEmpty }.map(\.0)
            frozenNames = Set(withWeights.dropLast(count))
        }
        for (name, layer) in zip(order, layers) {
            for parameter in layer.parameters where parameter.kind == .weight {
                parameter.isFrozen = frozenNames.contains(name)
            }
        }
        trainableNodes = zip(order, layers).filter { $0.1.parameters.contains { $0.isTrainable } }.map(\.0)
        trainsBody = trainableNodes.contains { !headNodes.contains($0) }
        // The body's weights step at a fraction of the head's rate.
        for (name, layer) in zip(order, layers) where !headNodes.contains(name) {
            for parameter in layer.parameters { parameter.learningRateScale = Float(spec.bodyLearningRateScale) }
        }
        graph = try Graph(nodes: nodes, layers: layers, output: head, context: context)
        // The cut: the frozen-prefix nodes read by trainable nodes must be exactly one.
        let frozen = graph.frozenPrefix()
        var boundaryIndices = Set<Int>()
        var readsInput = false
        for (i, node) in nodes.enumerated() where !frozen[i] {
            for input in node.inputs {
                if input == Graph.inputName { readsInput = true; continue }
                let j = order.firstIndex(of: input)!
                if frozen[j] { boundaryIndices.insert(j) }
            }
        }
        if !readsInput, boundaryIndices.count == 1, let cut = boundaryIndices.first {
            let name = order[cut]
            boundary = name
            var ancestors: Set<String> = [name]
            for node in nodes[...cut].reversed() where ancestors.contains(node.name) { node.inputs.forEach { ancestors.insert($0) } }
            let prefixIndices = (0...cut).filter { ancestors.contains(order[$0]) }
            prefix = try Graph(nodes: prefixIndices.map { nodes[$0] }, layers: prefixIndices.map { layers[$0] },
                               output: name, context: context)
            let suffixIndices = nodes.indices.filter { !frozen[$0] }
            let suffixNodes = suffixIndices.map { i -> NodeSpec in
                var node = nodes[i]
                node.inputs = node.inputs.map { $0 == name ? Graph.inputName : $0 }
                return node
            }
            suffix = try Graph(nodes: suffixNodes, layers: suffixIndices.map { layers[$0] }, output: head, context: context)
        } else {
            boundary = nil
            prefix = nil
            suffix = nil
        }
    }

    /// Parameters and buffers of the nodes that train: what a checkpoint and the best-epoch snapshot keep.
    public func trainedState() -> [String: Tensor] {
        let nodes = Set(trainableNodes)
        var state: [String: Tensor] = [:]
        for (key, parameter) in graph.namedParameters() where nodes.contains(String(key.prefix { $0 != "." })) {
            state[key] = parameter.value
        }
        return state
    }

    /// Puts back values saved by ``trainedState()``.
    public func restore(_ state: [String: Tensor]) throws {
        for (key, parameter) in graph.namedParameters() {
            guard let value = state[key] else { continue }
            guard value.shape == parameter.value.shape else {
                throw FineTuneError.checkpoint(message: "tensor '\(key)' has shape \(value.shape), expected \(parameter.value.shape)")
            }
            parameter.value = value
        }
    }
}
