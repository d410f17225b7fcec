/// Weight initialisers (He/Kaiming, Glorot/Xavier, constants), drawing from an explicit seeded generator.

/// How to fill a new weight tensor, following PyTorch's `torch.nn.init` conventions.
///
/// `fanIn` is the number of inputs feeding one output unit (for a convolution weight `O×(I/groups)×Kh×Kw`:
/// `(I/groups)·Kh·Kw`; for a linear weight `O×I`: `I`), `fanOut` the number of outputs one input feeds
/// (`O·Kh·Kw`, resp. `O`).
public enum Initializer: Sendable, Equatable {
    /// Normal with standard deviation `√2 / √fanIn` (ReLU gain √2, "fan_in" mode).
    /// He, Zhang, Ren & Sun, "Delving Deep into Rectifiers" (ICCV 2015), https://arxiv.org/abs/1502.01852.
    case kaimingNormal
    /// Uniform on `[-b, b]` with `b = √2 · √(3 / fanIn)` (ReLU gain √2, "fan_in" mode); same variance as
    /// `kaimingNormal`. He et al. (2015), https://arxiv.org/abs/1502.01852.
    case kaimingUniform
    /// Uniform on `[-b, b]` with `b = √(6 / (fanIn + fanOut))` (gain 1).
    /// Glorot & Bengio, "Understanding the difficulty of training deep feedforward neural networks"
    /// (AISTATS 2010), https://proceedings.mlr.press/v9/glorot10a.html.
    case xavierUniform
    /// Normal with standard deviation `√(2 / (fanIn + fanOut))` (gain 1). Glorot & Bengio (2010).
    case xavierNormal
    /// All zeros (biases, BatchNorm shift, running mean).
    case zeros
    /// All ones (BatchNorm scale, running variance).
    case ones

    /// A new tensor of `shape` filled by this rule; random rules draw `shape.reduce(1, *)` samples from
    /// `generator` in row-major order, so the same seed gives the same tensor.
    public func makeTensor(shape: [Int], fanIn: Int, fanOut: Int, generator: inout SeededGenerator) -> Tensor {
        let count = shape.reduce(1, *)
        precondition(count >= 0, "negative extent in shape \(shape)")
        switch self {
        case .zeros:
            return Tensor(shape: shape, repeating: 0)
        case .ones:
            return Tensor(shape: shape, repeating: 1)
        case .kaimingNormal:
            precondition(fanIn > 0, "Kaiming initialisation needs fanIn > 0, got \(fanIn)")
            let std = (2.0 / Float(fanIn)).squareRoot()
            return Tensor(shape: shape, scalars: (0..<count).map { _ in std * generator.nextGaussian() })
        case .kaimingUniform:
            precondition(fanIn > 0, "Kaiming initialisation needs fanIn > 0, got \(fanIn)")
            let bound = (6.0 / Float(fanIn)).squareRoot()  // √2 · √(3/fanIn)
            return Tensor(shape: shape, scalars: Self.uniform(count: count, bound: bound, generator: &generator))
        case .xavierUniform:
            precondition(fanIn + fanOut > 0, "Xavier initialisation needs fanIn + fanOut > 0")
            let bound = (6.0 / Float(fanIn + fanOut)).squareRoot()
            return Tensor(shape: shape, scalars: Self.uniform(count: count, bound: bound, generator: &generator))
        case .xavierNormal:
            precondition(fanIn + fanOut > 0, "Xavier initialisation needs fanIn + fanOut > 0")
            let std = (2.0 / Float(fanIn + fanOut)).squareRoot()
            return Tensor(shape: shape, scalars: (0..<count).map { _ in std * generator.nextGaussian() })
        }
    }

    /// `count` samples uniform on `[-bound, bound)`.
    private static func uniform(count: Int, bound: Float, generator: inout SeededGenerator) -> [Float] {
        (0..<count).map { _ in (2 * generator.nextUniform() - 1) * bound }
    }
}
