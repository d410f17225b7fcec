/// The element-wise optimizer updates oneDNN has no primitive for (SGD with momentum, Adam/AdamW), written by
/// hand over buffers and parallelised over disjoint slices; the optimizers in NeuralNetwork hold the state and
/// call these.
import Foundation

/// The scalar factors of one Adam step (computed by the optimizer from its hyperparameters and the step count).
public struct AdamStepConstants: Sendable {
    /// β₁, β₂ and 1 − β₁, 1 − β₂.
    public var keep1, keep2, gain1, gain2: Float
    public var epsilon: Float
    /// η / (1 − β₁ᵗ) and √(1 − β₂ᵗ).
    public var stepSize, correction2Root: Float
    /// λ of L2 weight decay added to the gradient (Adam), 0 for none.
    public var l2: Float
    /// 1 − ηλ, the decoupled weight decay's shrink of θ (AdamW), 1 for none.
    public var shrink: Float

    public init(keep1: Float, keep2: Float, gain1: Float, gain2: Float, epsilon: Float, stepSize: Float,
                correction2Root: Float, l2: Float, shrink: Float) {
        (self.keep1, self.keep2, self.gain1, self.gain2) = (keep1, keep2, gain1, gain2)
        (self.epsilon, self.stepSize, self.correction2Root, self.l2, self.shrink) =
            (epsilon, stepSize, correction2Root, l2, shrink)
    }
}

public enum OptimizerKernels {
    /// One Adam/AdamW step. value θ, gradient ∇, m, v: the same count of elements each.
    ///
    ///     θ ← θ·shrink;  g ← ∇ + l2·θ;  m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;
    ///     θ ← θ − stepSize · m / (√v / correction2Root + ε)
    public static func adam(value: inout [Float], gradient: [Float], m: inout [Float], v: inout [Float],
                            constants c: AdamStepConstants) {
        let count = value.count
        precondition(gradient.count == count && m.count == count && v.count == count, "Adam buffers differ in size")
        gradient.withUnsafeBufferPointer { gradient in
            value.withUnsafeMutableBufferPointer { value in
                m.withUnsafeMutableBufferPointer { m in
                    v.withUnsafeMutableBufferPointer { v in
                        forEachSlice(count: count) { range in
                            // Separate loops per weight-decay form keep the branches out of the vectorised body.
                            if c.l2 != 0 {
                                adamKernel(range, value, gradient, m, v, c, l2: true, shrink: false)
                            } else if c.shrink != 1 {
                                adamKernel(range, value, gradient, m, v, c, l2: false, shrink: true)
                            } else {
                                adamKernel(range, value, gradient, m, v, c, l2: false, shrink: false)
                            }
                        }
                    }
                }
            }
        }
    }

    /// One SGD step in PyTorch's formulation. value θ, gradient ∇, buffer b (ignored when momentum μ is 0):
    ///
    ///     g ← ∇ + λθ;  b ← g on the first step, else μb + g;  g ← g + μb (Nesterov) or b;  θ ← θ − ηg
    public static func sgd(value: inout [Float], gradient: [Float], buffer: inout [Float], learningRate: Float,
                           momentum: Float, nesterov: Bool, weightDecay: Float, isFirst: Bool) {
        let count = value.count
        precondition(gradient.count == count && (momentum == 0 || buffer.count == count), "SGD buffers differ in size")
        let lr = learningRate, mu = momentum, decay = weightDecay
        gradient.withUnsafeBufferPointer { gradient in
            value.withUnsafeMutableBufferPointer { value in
                buffer.withUnsafeMutableBufferPointer { momentumBuffer in
                    forEachSlice(count: count) { range in
                        for i in range {
                            var g = gradient[i]
                            if decay != 0 { g += decay * value[i] }
                            if mu != 0 {
                                let b = isFirst ? g : mu * momentumBuffer[i] + g
                                momentumBuffer[i] = b
                                g = nesterov ? g + mu * b : b
                            }
                            value[i] -= lr * g
                        }
                    }
                }
            }
        }
    }
}

/// One Adam/AdamW step over `range`; `l2` and `shrink` are constants at each call site so that the inlined loop
/// carries no branch.
@inline(__always)
private func adamKernel(_ range: Range<Int>, _ value: UnsafeMutableBufferPointer<Float>,
                        _ gradient: UnsafeBufferPointer<Float>, _ m: UnsafeMutableBufferPointer<Float>,
                        _ v: UnsafeMutableBufferPointer<Float>, _ c: AdamStepConstants, l2: Bool, shrink: Bool) {
    for i in range {
        var theta = value[i]
        if shrink { theta *= c.shrink }  // AdamW: θ·(1 − ηλ)
        var g = gradient[i]
        if l2 { g += c.l2 * theta }  // Adam: ∇ + λθ
        let mi = c.keep1 * m[i] + c.gain1 * g
        let vi = c.keep2 * v[i] + c.gain2 * (g * g)
        m[i] = mi
        v[i] = vi
        let denominator = vi.squareRoot() / c.correction2Root + c.epsilon
        value[i] = theta - c.stepSize * (mi / denominator)
    }
}

/// Runs `body` over `0..<count` split into fixed, disjoint, contiguous slices. Small buffers run on the calling
/// thread; big ones fan out with `DispatchQueue.concurrentPerform`. Every element is computed by the same
/// arithmetic whatever the partition, so results do not depend on the thread count.
@inline(__always)
func forEachSlice(count: Int, _ body: (Range<Int>) -> Void) {
    let minimumSlice = 1 << 15
    let sliceCount = min(8, count / minimumSlice)
    if sliceCount <= 1 {
        body(0..<count)
        return
    }
    DispatchQueue.concurrentPerform(iterations: sliceCount) { slice in
        let start = count * slice / sliceCount
        let end = count * (slice + 1) / sliceCount
        body(start..<end)
    }
}
