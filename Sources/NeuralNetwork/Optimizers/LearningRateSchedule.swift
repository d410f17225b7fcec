/// Learning-rate schedules: constant, step decay, cosine annealing to a floor, and linear warm-up before any.
import Foundation

/// A learning rate as a function of the optimizer step (counted from 0) and the run's total step count.
public protocol LearningRateSchedule: Sendable {
    func learningRate(atStep step: Int, totalSteps: Int) -> Float
}

/// The same rate at every step.
public struct ConstantSchedule: LearningRateSchedule {
    public let learningRate: Float

    public init(learningRate: Float) { self.learningRate = learningRate }

    public func learningRate(atStep step: Int, totalSteps: Int) -> Float { learningRate }
}

/// PyTorch's `StepLR`: `η · γ^⌊step / stepSize⌋`.
public struct StepSchedule: LearningRateSchedule {
    public let learningRate: Float
    public let stepSize: Int
    public let gamma: Float

    public init(learningRate: Float, stepSize: Int, gamma: Float = 0.1) {
        precondition(stepSize > 0, "StepSchedule needs stepSize > 0, got \(stepSize)")
        self.learningRate = learningRate
        self.stepSize = stepSize
        self.gamma = gamma
    }

    public func learningRate(atStep step: Int, totalSteps: Int) -> Float {
        Float(Double(learningRate) * pow(Double(gamma), Double(max(0, step) / stepSize)))
    }
}

/// PyTorch's `CosineAnnealingLR` over the whole run (`T_max = totalSteps`), in closed form:
/// `η_min + (η − η_min) · (1 + cos(π · step / totalSteps)) / 2`; steps past the end stay at `η_min`.
/// Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts" (ICLR 2017),
/// https://arxiv.org/abs/1608.03983.
public struct CosineSchedule: LearningRateSchedule {
    public let learningRate: Float
    public let minimumLearningRate: Float

    public init(learningRate: Float, minimumLearningRate: Float = 0) {
        self.learningRate = learningRate
        self.minimumLearningRate = minimumLearningRate
    }

    public func learningRate(atStep step: Int, totalSteps: Int) -> Float {
        guard totalSteps > 0 else { return learningRate }
        let progress = min(1, max(0, Double(step) / Double(totalSteps)))
        let high = Double(learningRate), low = Double(minimumLearningRate)
        return Float(low + (high - low) * (1 + cos(Double.pi * progress)) / 2)
    }
}

/// Linear warm-up composed with any schedule, like PyTorch's `SequentialLR([LinearLR, after])`: for the first
/// `warmupSteps` steps the rate rises linearly from `startFactor · r` to `r`, where `r` is the rate `after` gives
/// at its own step 0; from then on it is `after` evaluated at `step − warmupSteps` of `totalSteps − warmupSteps`.
public struct WarmupSchedule<After: LearningRateSchedule>: LearningRateSchedule {
    public let warmupSteps: Int
    public let startFactor: Float
    public let after: After

    /// `startFactor` defaults to PyTorch's `LinearLR` default, 1/3.
    public init(warmupSteps: Int, startFactor: Float = 1.0 / 3.0, then after: After) {
        precondition(warmupSteps >= 0, "WarmupSchedule needs warmupSteps ≥ 0, got \(warmupSteps)")
        precondition(startFactor > 0 && startFactor <= 1, "startFactor must lie in (0, 1], got \(startFactor)")
        self.warmupSteps = warmupSteps
        self.startFactor = startFactor
        self.after = after
    }

    public func learningRate(atStep step: Int, totalSteps: Int) -> Float {
        let remaining = max(0, totalSteps - warmupSteps)
        guard step < warmupSteps else {
            return after.learningRate(atStep: step - warmupSteps, totalSteps: remaining)
        }
        let target = Double(after.learningRate(atStep: 0, totalSteps: remaining))
        let factor = Double(startFactor) + (1 - Double(startFactor)) * Double(max(0, step)) / Double(warmupSteps)
        return Float(target * factor)
    }
}
