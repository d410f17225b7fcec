/// Moving a graph's parameters and buffers in and out as named plain tensors (`node.param`), the form a
/// `weights.safetensors` file holds, with validation that names the file and the tensor.
extension Graph {
    /// Every parameter and buffer by `node.param` key (plain, PyTorch layouts).
    public func stateDict() -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: namedParameters().map { ($0.key, $0.parameter.value) })
    }

    /// Loads values for every parameter and buffer. Missing, unexpected or mis-shaped tensors are errors naming
    /// `file`, the tensor, the expected and the found shape; nothing is changed unless everything matches.
    public func load(stateDict tensors: [String: Tensor], file: String) throws {
        let named = namedParameters()
        let expected = Set(named.map(\.key))
        if let missing = named.first(where: { tensors[$0.key] == nil }) {
            throw ModelError("\(file): tensor '\(missing.key)' is missing (expected shape \(missing.parameter.value.shape))")
        }
        if let unused = tensors.keys.sorted().first(where: { !expected.contains($0) }) {
            throw ModelError("\(file): tensor '\(unused)' does not belong to any node of the graph")
        }
        for (key, parameter) in named where tensors[key]!.shape != parameter.value.shape {
            throw ModelError("\(file): tensor '\(key)' has shape \(tensors[key]!.shape), expected \(parameter.value.shape)")
        }
        for (key, parameter) in named {
            guard let value = tensors[key] else { continue }
            guard value.scalars.allSatisfy({ $0.isFinite }) else {
                throw ModelError("\(file): tensor '\(key)' contains NaN or infinite values")
            }
            parameter.value = value
        }
    }

    /// Builds the graph with `tensors` as its parameters, each layer taking its values as soon as it exists, so that
    /// at most one layer's default initialisation lives beside the weights (building first and loading after holds
    /// a second copy of every weight). The same checks and messages as `load(stateDict:file:)`.
    public convenience init(nodes: [NodeSpec], output: String? = nil, weights tensors: [String: Tensor], file: String,
                            inputShape: [Int]? = nil, context: ComputeContext = ComputeContext()) throws {
        var generator = SeededGenerator(seed: 0)
        var remaining = tensors
        let layers = try nodes.map { node -> Layer in
            let layer = try LayerFactory.make(node, generator: &generator)
            for parameter in layer.parameters {
                let key = "\(node.name).\(parameter.name)"
                guard let value = remaining.removeValue(forKey: key) else {
                    throw ModelError("\(file): tensor '\(key)' is missing (expected shape \(parameter.value.shape))")
                }
                guard value.shape == parameter.value.shape else {
                    throw ModelError("\(file): tensor '\(key)' has shape \(value.shape), expected \(parameter.value.shape)")
                }
                guard value.scalars.allSatisfy({ $0.isFinite }) else {
                    throw ModelError("\(file): tensor '\(key)' contains NaN or infinite values")
                }
                parameter.value = value
            }
            return layer
        }
        if let unused = remaining.keys.sorted().first {
            throw ModelError("\(file): tensor '\(unused)' does not belong to any node of the graph")
        }
        try self.init(nodes: nodes, layers: layers, output: output, inputShape: inputShape, context: context)
    }
}
