/// Softmax cross-entropy loss over logits N×K and integer labels, as PyTorch's `nn.CrossEntropyLoss` with
/// `label_smoothing` and per-class `weight` (mean reduction: divided by the sum of the samples' label weights).
public struct SoftmaxCrossEntropy: Sendable {
    public var labelSmoothing: Float
    /// One weight per class, or nil for all ones.
    public var classWeights: [Float]?

    public init(labelSmoothing: Float = 0, classWeights: [Float]? = nil) {
        precondition(labelSmoothing >= 0 && labelSmoothing < 1, "label smoothing must be in [0, 1)")
        self.labelSmoothing = labelSmoothing
        self.classWeights = classWeights
    }

    /// Loss and its gradient w.r.t. the logits.
    ///
    /// With p = softmax(z), target mass a_c = (1 − ε)·w_y·[c = y] + ε·w_c/K and W = Σ_i w_{y_i}:
    /// L = Σ_i Σ_c a_c·(−log p_c) / W, and since ∂(−log p_c)/∂z_j = p_j − [c = j],
    /// ∂L/∂z_j = (p_j·Σ_c a_c − a_j) / W.
    public func callAsFunction(logits: Tensor, labels: [Int]) -> (loss: Float, gradient: Tensor) {
        precondition(logits.shape.count == 2 && logits.shape[0] == labels.count, "logits \(logits.shape), \(labels.count) labels")
        let (n, k) = (logits.shape[0], logits.shape[1])
        let weights = classWeights ?? [Float](repeating: 1, count: k)
        precondition(weights.count == k, "\(weights.count) class weights for \(k) classes")
        let eps = Double(labelSmoothing)
        var total = 0.0, weightSum = 0.0
        var gradient = [Float](repeating: 0, count: n * k)
        for i in 0..<n {
            let y = labels[i]
            precondition(y >= 0 && y < k, "label \(y) outside 0..<\(k)")
            let row = (0..<k).map { Double(logits.scalars[i * k + $0]) }
            let top = row.max()!
            let logSum = row.reduce(0) { $0 + exp($1 - top) }.logValue + top
            var mass = (0..<k).map { eps * Double(weights[$0]) / Double(k) }
            mass[y] += (1 - eps) * Double(weights[y])
            let massSum = mass.reduce(0, +)
            for c in 0..<k {
                total += mass[c] * (logSum - row[c])
                gradient[i * k + c] = Float(exp(row[c] - logSum) * massSum - mass[c])
            }
            weightSum += Double(weights[y])
        }
        let scale = weightSum > 0 ? 1 / weightSum : 0
        return (Float(total * scale), Tensor(shape: logits.shape, scalars: gradient.map { $0 * Float(scale) }))
    }
}

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

extension Double {
    fileprivate var logValue: Double { log(self) }
}
