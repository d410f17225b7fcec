// The ceilings a job must stay under so that one request cannot exhaust the machine's memory or the database.
import FineTuning
import Foundation

/// What the service accepts in one job, whatever the spec says: checked when the job is submitted (a 422 naming
/// the field and the limit) and kept to while it runs.
public struct JobLimits: Sendable, Equatable {
    /// The memory a job's run may need (``FineTuning/MemoryEstimate``); default half the machine's memory.
    public var memoryBudgetBytes: Int = Int(clamping: ProcessInfo.processInfo.physicalMemory / 2)
    /// Epochs × steps per epoch: the number of training steps of a job.
    public var maxTotalSteps: Int = 1_000_000
    /// Metric rows a job may write: step metrics are thinned (every k-th step) to stay under it.
    public var maxMetricRows: Int = 200_000

    public init() {}

    /// Metric rows written per epoch besides the thinned step rows: 4 epoch values and the 3 values of each
    /// epoch's last step, which is always recorded.
    static let rowsPerEpoch = 7
    /// Values recorded per recorded step (loss, accuracy, images per second).
    static let rowsPerStep = 3

    /// Phases whose epochs are recorded as series: the run, and the linear probe before it when layers below the
    /// head may train (`auto` and every policy but `backbone`; the search's candidates are not series).
    static func recordedPhases(_ spec: FineTuneSpec) -> Int { spec.freeze == .backbone ? 1 : 2 }

    /// Record step metrics every `stride` steps so that a run of `totalSteps` over `epochs` writes at most
    /// `maxMetricRows` rows.
    func metricStride(totalSteps: Int, epochs: Int) -> Int {
        let room = max(1, maxMetricRows - Self.rowsPerEpoch * epochs)
        let wanted = Self.rowsPerStep * totalSteps
        return max(1, (wanted + room - 1) / room)
    }
}
