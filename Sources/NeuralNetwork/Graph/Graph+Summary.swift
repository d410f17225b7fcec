/// A Keras-like `model.summary()`: one row per node with its op, inputs, output shape, parameter count and
/// multiply-accumulates, then totals.
extension Graph {
    public struct SummaryRow: Sendable, Equatable {
        public var node: String
        public var op: String
        public var inputs: [String]
        public var outputShape: [Int]
        public var parameters: Int
        public var trainableParameters: Int
        public var macs: Int
    }

    /// Rows for a batch of `inputShape` (N×C×H×W).
    public func summaryRows(inputShape: [Int]) throws -> [SummaryRow] {
        let shapes = try self.shapes(for: inputShape)
        return layers.enumerated().map { i, layer in
            let inputs = inputIndices[i].map { $0 < 0 ? inputShape : shapes[$0] }
            let weights = layer.parameters.filter { $0.kind == .weight }
            return SummaryRow(
                node: nodes[i].name, op: layer.op, inputs: nodes[i].inputs, outputShape: shapes[i],
                parameters: weights.map(\.value.count).reduce(0, +),
                trainableParameters: weights.filter(\.isTrainable).map(\.value.count).reduce(0, +),
                macs: layer.macs(for: inputs, output: shapes[i]))
        }
    }

    /// The summary as a text table (shapes without the batch axis, MACs per image).
    public func summary(inputShape: [Int]) throws -> String {
        var single = inputShape
        single[0] = 1
        let rows = try summaryRows(inputShape: single)
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
        func grouped(_ n: Int) -> String {
            let digits = Array(String(n))
            return String(digits.enumerated().flatMap { i, d in (i > 0 && (digits.count - i) % 3 == 0 ? [","] : []) + [d] })
        }
        var lines = [pad("Node (op)", 40) + pad("Inputs", 28) + pad("Output shape", 18) + pad("Params", 12) + "MACs"]
        lines.append(String(repeating: "=", count: 110))
        for row in rows {
            let shape = row.outputShape.dropFirst().map(String.init).joined(separator: "×")
            lines.append(pad("\(row.node) (\(row.op))", 40) + pad(row.inputs.joined(separator: ", "), 28) + pad(shape, 18)
                + pad(grouped(row.parameters), 12) + grouped(row.macs))
        }
        lines.append(String(repeating: "=", count: 110))
        let total = rows.map(\.parameters).reduce(0, +), trainable = rows.map(\.trainableParameters).reduce(0, +)
        let buffers = namedParameters().filter { $0.parameter.kind == .buffer }.map(\.parameter.value.count).reduce(0, +)
        lines.append("Total params: \(grouped(total))  (trainable \(grouped(trainable)), frozen \(grouped(total - trainable)))")
        lines.append("Buffers (e.g. BatchNorm running statistics): \(grouped(buffers))")
        lines.append("MACs per image: \(grouped(rows.map(\.macs).reduce(0, +)))")
        return lines.joined(separator: "\n")
    }
}
