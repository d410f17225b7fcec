/// A dense Float32 tensor in plain row-major layout (N×C×H×W for images): the form that users, files and
/// tests see. Inside compiled plans activations live in oneDNN's own layouts; this type is their edge.
public struct Tensor: Equatable, Sendable {
    /// Extent of each axis, outermost first.
    public let shape: [Int]
    /// The elements in row-major order; `scalars.count == shape.reduce(1, *)`.
    public var scalars: [Float]

    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative extent in shape \(shape)")
        precondition(
            scalars.count == shape.reduce(1, *),
            "shape \(shape) needs \(shape.reduce(1, *)) scalars, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    public init(shape: [Int], repeating value: Float = 0) {
        self.init(shape: shape, scalars: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    /// Number of elements.
    public var count: Int { scalars.count }
}
