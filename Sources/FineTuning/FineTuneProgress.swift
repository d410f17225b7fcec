/// What a run reports while it works: progress events, epoch metrics, why it stopped, and its cancellation.
import Foundation

/// One progress event: after every training step (`kind == .step`), after every epoch's validation
/// (`kind == .epoch`, with `validation` set), and after each round of a freeze search (`kind == .search`, with
/// `search` set). JSON keys are snake_case.
public struct FineTuneProgress: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case step, epoch, search }
    /// Which trainer of the run the event comes from: the linear probe (the head on the frozen backbone), a
    /// candidate of the freeze search, or the run that makes the model. Epochs count within the phase; steps and
    /// the ETA over the whole run.
    public enum Phase: String, Codable, Sendable { case probe, search, training }

    public var kind: Kind
    public var phase: Phase = .training
    /// 1-based epoch and step within the epoch.
    public var epoch: Int
    public var epochs: Int
    public var step: Int
    public var stepsPerEpoch: Int
    /// Steps done so far in the whole run, of `totalSteps`.
    public var globalStep: Int
    public var totalSteps: Int
    /// Mean training loss and accuracy over the epoch so far.
    public var loss: Double
    public var accuracy: Double
    public var learningRate: Double
    public var imagesPerSecond: Double
    /// Estimated seconds left at the current speed.
    public var etaSeconds: Double
    public var validation: EvaluationReport?
    /// The freeze search so far (`kind == .search`).
    public var search: FreezeSearchReport?

    /// Fraction of the run's steps done, 0…1.
    public var fractionDone: Double { totalSteps == 0 ? 1 : Double(globalStep) / Double(totalSteps) }

    enum CodingKeys: String, CodingKey {
        case kind, phase, epoch, epochs, step, loss, accuracy, validation, search
        case stepsPerEpoch = "steps_per_epoch", globalStep = "global_step", totalSteps = "total_steps"
        case learningRate = "learning_rate", imagesPerSecond = "images_per_second", etaSeconds = "eta_seconds"
    }
}

/// Training and validation figures of one finished epoch.
public struct EpochMetrics: Codable, Sendable, Equatable {
    public var epoch: Int
    public var trainingLoss: Double
    public var trainingAccuracy: Double
    public var validationLoss: Double?
    public var validationAccuracy: Double?
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case epoch, seconds
        case trainingLoss = "training_loss", trainingAccuracy = "training_accuracy"
        case validationLoss = "validation_loss", validationAccuracy = "validation_accuracy"
    }
}

/// Why training ended.
public enum StopReason: String, Codable, Sendable {
    case completed
    case earlyStopping = "early_stopping"
    case timeLimit = "time_limit"
}

/// Thrown by ``FineTuneRun/run(progress:isCancelled:)`` when `isCancelled` returned true; the last
/// checkpoint (end of the previous epoch) stays on disk for a later resume.
public struct FineTuneCancelled: Error, CustomStringConvertible {
    public let epoch: Int
    public let step: Int
    public var description: String { "cancelled during epoch \(epoch), before step \(step)" }
}
