// What a running job reports: where it is, and the metric values of its steps and epochs.
import Foundation

/// Where a running job is: the worker writes one of these after every step.
public struct JobProgress: Equatable, Sendable {
    public var epoch: Int
    public var totalEpochs: Int
    public var step: Int
    public var totalSteps: Int

    public init(epoch: Int, totalEpochs: Int, step: Int, totalSteps: Int) {
        self.epoch = epoch
        self.totalEpochs = totalEpochs
        self.step = step
        self.totalSteps = totalSteps
    }

    /// Steps done over steps planned, in 0...1.
    public var fractionDone: Double {
        totalSteps > 0 ? min(1, max(0, Double(step) / Double(totalSteps))) : 0
    }
}

/// One named value the runner reports at a step or at the end of an epoch.
public struct MetricValue: Equatable, Sendable {
    public var scope: JobMetricRecord.Scope
    public var epoch: Int
    public var step: Int
    public var name: String
    public var value: Double

    public init(scope: JobMetricRecord.Scope, epoch: Int, step: Int, name: String, value: Double) {
        self.scope = scope
        self.epoch = epoch
        self.step = step
        self.name = name
        self.value = value
    }
}
