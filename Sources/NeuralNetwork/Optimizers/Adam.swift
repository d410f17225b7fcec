/// Adam and AdamW: adaptive moment estimation with L2 (Adam) or decoupled (AdamW) weight decay.
import Foundation
import Tensors

/// Adam in PyTorch's formulation (`torch.optim.Adam`, no AMSGrad), with per-parameter step count t:
///
///     g ← ∇ + λ·θ                               (L2 weight decay λ, added to the gradient)
///     m ← β₁·m + (1 − β₁)·g                     (`<key>.exp_avg`; factors from the decimal hyperparameters)
///     v ← β₂·v + (1 − β₂)·g²                    (`<key>.exp_avg_sq`)
///     θ ← θ − η/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)   (η times the parameter's `learningRateScale`)
///
/// Kingma & Ba, "Adam: A Method for Stochastic Optimization" (ICLR 2015), https://arxiv.org/abs/1412.6980.
public final class Adam: AdaptiveMomentOptimizer {
    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                weightDecay: Float = 0) {
        super.init(rule: AdaptiveMoments(
            name: "Adam", learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
            weightDecay: weightDecay, decoupled: false))
    }
}

/// AdamW in PyTorch's formulation (`torch.optim.AdamW`): Adam whose weight decay shrinks the weights directly
/// instead of entering the moment estimates,
///
///     θ ← θ·(1 − η·λ), then the Adam update with g = ∇.
///
/// Loshchilov & Hutter, "Decoupled Weight Decay Regularization" (ICLR 2019), https://arxiv.org/abs/1711.05101.
public final class AdamW: AdaptiveMomentOptimizer {
    /// Defaults are PyTorch's, including weight decay 0.01.
    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                weightDecay: Float = 1e-2) {
        super.init(rule: AdaptiveMoments(
            name: "AdamW", learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
            weightDecay: weightDecay, decoupled: true))
    }
}

/// What Adam and AdamW share: their hyperparameters and the per-parameter rule that holds the moments.
public class AdaptiveMomentOptimizer: Optimizer {
    public var learningRate: Float {
        get { rule.learningRate }
        set { rule.learningRate = newValue }
    }
    public var beta1: Float { rule.beta1 }
    public var beta2: Float { rule.beta2 }
    public var epsilon: Float { rule.epsilon }
    public var weightDecay: Float { rule.weightDecay }

    private var rule: AdaptiveMoments

    init(rule: AdaptiveMoments) { self.rule = rule }

    public func step(_ parameters: [(key: String, parameter: Parameter)]) { rule.step(parameters) }
    public func state() -> [String: Tensor] { rule.state() }
    public func loadState(_ state: [String: Tensor]) throws { try rule.loadState(state) }
}

// MARK: - The shared rule

/// The per-parameter Adam rule behind `Adam` and `AdamW`; `decoupled` selects where weight decay applies.
struct AdaptiveMoments {
    /// One parameter's state: first and second moment estimates (the parameter's shape) and its step count.
    struct Moments {
        var exponentialAverage: Tensor
        var exponentialAverageOfSquares: Tensor
        var step: Int
    }

    let name: String
    var learningRate: Float
    let beta1: Float
    let beta2: Float
    let epsilon: Float
    let weightDecay: Float
    let decoupled: Bool
    private var moments: [String: Moments] = [:]
    private var stepCount = 0

    init(name: String, learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float,
         decoupled: Bool) {
        precondition(learningRate >= 0, "\(name) learning rate must be ≥ 0, got \(learningRate)")
        precondition((0..<1).contains(beta1) && (0..<1).contains(beta2), "\(name) betas must lie in [0, 1)")
        precondition(epsilon >= 0 && weightDecay >= 0, "\(name) epsilon and weight decay must be ≥ 0")
        self.name = name
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decoupled = decoupled
    }

    mutating func step(_ parameters: [(key: String, parameter: Parameter)]) {
        stepCount += 1
        for (key, parameter) in parameters where parameter.isTrainable {
            var state = moments.removeValue(forKey: key)  // removed: mutate the buffers without a copy
                ?? Moments(exponentialAverage: Tensor(shape: parameter.value.shape),
                           exponentialAverageOfSquares: Tensor(shape: parameter.value.shape), step: 0)
            precondition(state.exponentialAverage.shape == parameter.value.shape,
                         "\(name) state of '\(key)' has shape \(state.exponentialAverage.shape), " +
                         "parameter has \(parameter.value.shape)")
            precondition(parameter.gradient.count == parameter.value.count, "gradient of '\(key)' has the wrong size")
            state.step += 1
            update(parameter: parameter, state: &state)
            moments[key] = state
        }
    }

    /// θ: value, ∇: gradient, m, v: moment estimates — all of `parameter.value.count` elements.
    private func update(parameter: Parameter, state: inout Moments) {
        // Scalar factors in Double from the decimal hyperparameters, as PyTorch computes them from Python floats,
        // then rounded once to Float (as PyTorch's kernels do with their scalar arguments).
        // The parameter's learning-rate scale multiplies the rate (a scale of 1 leaves it exact).
        let lr = Self.decimal(learningRate) * Self.decimal(parameter.learningRateScale)
        let b1 = Self.decimal(beta1), b2 = Self.decimal(beta2)
        let t = Double(state.step)
        let biasCorrection1 = 1 - pow(b1, t)
        let correction2Root = Float((1 - pow(b2, t)).squareRoot())
        let stepSize = Float(lr / biasCorrection1)
        let l2 = decoupled ? 0 : weightDecay
        let shrink: Float = decoupled ? Float(1 - lr * Self.decimal(weightDecay)) : 1
        let constants = AdamStepConstants(keep1: beta1, keep2: beta2, gain1: Float(1 - b1), gain2: Float(1 - b2),
                                          epsilon: epsilon, stepSize: stepSize, correction2Root: correction2Root,
                                          l2: l2, shrink: shrink)
        OptimizerKernels.adam(value: &parameter.value.scalars, gradient: parameter.gradient.scalars,
                              m: &state.exponentialAverage.scalars, v: &state.exponentialAverageOfSquares.scalars,
                              constants: constants)
    }

    /// The Double a user meant by a Float hyperparameter: the shortest decimal that rounds to it (0.999, not
    /// 0.99900001287…). `1 − β₂` computed from the Float would be off by 5·10⁻⁵ relative.
    static func decimal(_ value: Float) -> Double { Double(value.description) ?? Double(value) }

    func state() -> [String: Tensor] {
        var result = [OptimizerState.stepName: OptimizerState.stepTensor(stepCount)]
        for (key, state) in moments {
            result[key + ".exp_avg"] = state.exponentialAverage
            result[key + ".exp_avg_sq"] = state.exponentialAverageOfSquares
            result[key + ".step"] = OptimizerState.stepTensor(state.step)
        }
        return result
    }

    mutating func loadState(_ state: [String: Tensor]) throws {
        guard let stepTensor = state[OptimizerState.stepName] else { throw OptimizerStateError.missing(name: "step") }
        let loadedStep = try OptimizerState.readStep(stepTensor, name: OptimizerState.stepName)
        var keys = Set<String>()
        for name in state.keys.sorted() where name != OptimizerState.stepName {
            guard let (key, suffix) = OptimizerState.split(name), suffix != "momentum_buffer" else {
                throw OptimizerStateError.unexpectedName(name: name, optimizer: self.name)
            }
            keys.insert(key)
        }
        var loaded: [String: Moments] = [:]
        for key in keys.sorted() {
            let names = (key + ".exp_avg", key + ".exp_avg_sq", key + ".step")
            guard let m = state[names.0] else { throw OptimizerStateError.missing(name: names.0) }
            guard let v = state[names.1] else { throw OptimizerStateError.missing(name: names.1) }
            guard let t = state[names.2] else { throw OptimizerStateError.missing(name: names.2) }
            guard v.shape == m.shape else {
                throw OptimizerStateError.shapeMismatch(name: names.1, expected: m.shape, found: v.shape)
            }
            let step = try OptimizerState.readStep(t, name: names.2)
            loaded[key] = Moments(exponentialAverage: m, exponentialAverageOfSquares: v, step: step)
        }
        moments = loaded
        stepCount = loadedStep
    }
}
