/// Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay.
import Tensors

/// Stochastic gradient descent in PyTorch's formulation (`torch.optim.SGD`, dampening 0):
///
///     g ← ∇ + λ·θ                        (L2 weight decay λ)
///     b ← g on the first step, else μ·b + g   (momentum μ; the buffer is `<key>.momentum_buffer`)
///     g ← g + μ·b if Nesterov, else b
///     θ ← θ − η·s·g                     (s: the parameter's `learningRateScale`, 1 unless set)
///
/// Momentum: Polyak, "Some methods of speeding up the convergence of iteration methods" (1964); Nesterov form as
/// in Sutskever, Martens, Dahl & Hinton, "On the importance of initialization and momentum in deep learning"
/// (ICML 2013), http://proceedings.mlr.press/v28/sutskever13.html.
public final class SGD: Optimizer {
    public var learningRate: Float
    public let momentum: Float
    public let nesterov: Bool
    public let weightDecay: Float

    private var momentumBuffers: [String: Tensor] = [:]
    private var stepCount = 0

    public init(learningRate: Float, momentum: Float = 0, nesterov: Bool = false, weightDecay: Float = 0) {
        precondition(learningRate >= 0, "SGD learning rate must be ≥ 0, got \(learningRate)")
        precondition(momentum >= 0, "SGD momentum must be ≥ 0, got \(momentum)")
        precondition(!nesterov || momentum > 0, "Nesterov momentum needs momentum > 0")
        precondition(weightDecay >= 0, "SGD weight decay must be ≥ 0, got \(weightDecay)")
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
    }

    public func step(_ parameters: [(key: String, parameter: Parameter)]) {
        stepCount += 1
        for (key, parameter) in parameters where parameter.isTrainable {
            update(key: key, parameter: parameter)
        }
    }

    /// θ: value, ∇: gradient, b: momentum buffer — all of `parameter.value.count` elements.
    private func update(key: String, parameter: Parameter) {
        let count = parameter.value.count
        precondition(parameter.gradient.count == count, "gradient of '\(key)' has the wrong size")
        let mu = momentum
        let isFirst: Bool
        var buffer: Tensor
        if mu == 0 {
            isFirst = false
            buffer = Tensor(shape: [0])
        } else if let existing = momentumBuffers.removeValue(forKey: key) {  // removed: mutate without a copy
            precondition(existing.shape == parameter.value.shape, "momentum buffer of '\(key)' has shape " +
                "\(existing.shape), parameter has \(parameter.value.shape)")
            isFirst = false
            buffer = existing
        } else {
            isFirst = true
            buffer = Tensor(shape: parameter.value.shape)
        }
        OptimizerKernels.sgd(value: &parameter.value.scalars, gradient: parameter.gradient.scalars,
                             buffer: &buffer.scalars, learningRate: learningRate * parameter.learningRateScale,
                             momentum: mu, nesterov: nesterov,
                             weightDecay: weightDecay, isFirst: isFirst)
        if mu != 0 { momentumBuffers[key] = buffer }
    }

    public func state() -> [String: Tensor] {
        var result = [OptimizerState.stepName: OptimizerState.stepTensor(stepCount)]
        for (key, buffer) in momentumBuffers {
            result[key + ".momentum_buffer"] = buffer
        }
        return result
    }

    public func loadState(_ state: [String: Tensor]) throws {
        var buffers: [String: Tensor] = [:]
        var loadedStep = 0
        for (name, tensor) in state.sorted(by: { $0.key < $1.key }) {
            if name == OptimizerState.stepName {
                loadedStep = try OptimizerState.readStep(tensor, name: name)
            } else if let (key, suffix) = OptimizerState.split(name), suffix == "momentum_buffer", momentum != 0 {
                buffers[key] = tensor
            } else {
                throw OptimizerStateError.unexpectedName(name: name, optimizer: "SGD")
            }
        }
        guard state[OptimizerState.stepName] != nil else { throw OptimizerStateError.missing(name: "step") }
        momentumBuffers = buffers
        stepCount = loadedStep
    }
}
