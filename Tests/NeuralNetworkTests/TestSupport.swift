// Helpers shared by the engine tests: seeded random tensors, tolerance checks, one-node graphs.
import Testing
@testable import NeuralNetwork

func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    var g = SeededGenerator(seed: seed)
    return Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in g.nextGaussian() * scale })
}

/// Largest |a − b| / (1 + |b|) over all elements.
func maxRelativeError(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.shape == b.shape, "shapes \(a.shape) vs \(b.shape)")
    return zip(a.scalars, b.scalars).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? 0
}

func expectClose(_ a: Tensor, _ b: Tensor, _ tolerance: Float = 1e-4, _ what: String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.shape == b.shape, "\(what): shape \(a.shape) vs \(b.shape)", sourceLocation: sourceLocation)
    guard a.shape == b.shape else { return }
    let error = maxRelativeError(a, b)
    #expect(error <= tolerance, "\(what): max relative error \(error)", sourceLocation: sourceLocation)
}

func vector(_ values: [Float]) -> Tensor { Tensor(shape: [values.count], scalars: values) }

/// A graph over given layers in a chain (each node reads the previous one).
func chain(_ layers: [Layer], threads: Int = 2) throws -> Graph {
    let nodes = layers.enumerated().map { i, layer in
        NodeSpec(name: "n\(i)", op: layer.op, inputs: [i == 0 ? Graph.inputName : "n\(i - 1)"])
    }
    return try Graph(nodes: nodes, layers: layers, context: ComputeContext(threads: threads))
}
