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
}
