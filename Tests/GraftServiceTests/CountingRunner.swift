// A small real JobRunner for tests: counts to N, checkpointing its counter to disk and resuming from it.
import Foundation
import NeuralNetwork
import Testing
@testable import GraftService

/// Counts from its checkpoint (or 0) to `steps`, one step at a time, following the `JobRunner` contract:
/// checks for stop before every step, checkpoints every `checkpoint_every` steps and on shutdown, and writes
/// a one-file "model" holding the final count.
final class CountingRunner: JobRunner, @unchecked Sendable {
    struct Spec: Decodable {
        var steps: Int
        var checkpointEvery: Int
        var failAtStep: Int?

        enum CodingKeys: String, CodingKey {
            case steps
            case checkpointEvery = "checkpoint_every"
            case failAtStep = "fail_at_step"
        }
    }

    struct CountingFailure: Error, CustomStringConvertible {
        var step: Int
        var description: String { "The counter refused step \(step); lower fail_at_step and resubmit." }
    }

    /// Called before each step with (job id, the step about to run); tests use it to pause a run.
    var beforeStep: ((String, Int) -> Void)?

    private let lock = NSLock()
    private var executed: [String: [Int]] = [:]

    /// The steps each job really executed, in order, across all attempts.
    func executedSteps(of jobID: String) -> [Int] {
        lock.lock()
        defer { lock.unlock() }
        return executed[jobID] ?? []
    }

    static func spec(steps: Int, checkpointEvery: Int, failAtStep: Int? = nil) -> String {
        var json = "{\"steps\":\(steps),\"checkpoint_every\":\(checkpointEvery)"
        if let failAtStep { json += ",\"fail_at_step\":\(failAtStep)" }
        return json + "}"
    }

    static func checkpointFile(in directory: URL) -> URL {
        directory.appendingPathComponent("counter.json")
    }

    /// Writes a checkpoint as the runner does (tests use it to stage a crashed run's state).
    static func saveCheckpoint(count: Int, in directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // An atomic write goes to a temporary file and renames it: a crash leaves the old checkpoint or the new.
        try Data("{\"count\":\(count)}".utf8).write(to: checkpointFile(in: directory), options: .atomic)
    }

    static func loadCheckpoint(in directory: URL) throws -> Int {
        guard let data = FileManager.default.contents(atPath: checkpointFile(in: directory).path) else { return 0 }
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Int]
        return object?["count"] ?? 0
    }

    func run(_ job: JobTicket, reporter: JobReporter) throws -> JobResult {
        let spec = try JSONDecoder().decode(Spec.self, from: Data(job.specJSON.utf8))
        var count = try Self.loadCheckpoint(in: job.checkpointDirectory)
        if count > 0 {
            try reporter.recordEvent(kind: "resumed", message: "Resumed at step \(count).", data: ["step": count])
        }
        let totalEpochs = (spec.steps + spec.checkpointEvery - 1) / spec.checkpointEvery
        while count < spec.steps {
            beforeStep?(job.jobID, count + 1)
            do {
                try reporter.checkForStop()
            } catch let stopped as JobStopped where stopped.reason == .shutdown {
                try Self.saveCheckpoint(count: count, in: job.checkpointDirectory)
                throw stopped
            }
            if spec.failAtStep == count + 1 { throw CountingFailure(step: count + 1) }
            count += 1
            lock.lock()
            executed[job.jobID, default: []].append(count)
            lock.unlock()
            let epoch = (count - 1) / spec.checkpointEvery
            try reporter.reportProgress(JobProgress(epoch: epoch, totalEpochs: totalEpochs, step: count,
                                                    totalSteps: spec.steps))
            try reporter.recordMetrics([MetricValue(scope: .step, epoch: epoch, step: count, name: "count",
                                                    value: Double(count))])
            if count % spec.checkpointEvery == 0 || count == spec.steps {
                try Self.saveCheckpoint(count: count, in: job.checkpointDirectory)
                try reporter.recordMetrics([MetricValue(scope: .epoch, epoch: epoch, step: count, name: "count",
                                                        value: Double(count))])
                try reporter.recordEvent(kind: "checkpoint", message: "Checkpoint at step \(count).",
                                         data: ["step": count])
            }
        }
        // a runner owns its output folder, as FineTuneRun does
        try FileManager.default.createDirectory(at: job.outputDirectory, withIntermediateDirectories: true)
        let weights = job.outputDirectory.appendingPathComponent("weights.txt")
        try Data("\(count)".utf8).write(to: weights)
        return JobResult(model: ProducedModel(name: "counter", weightsHash: try SHA256.hexDigest(ofFileAt: weights),
                                              labels: ["count"], provenanceJSON: "{\"job\":\"\(job.jobID)\"}"))
    }
}

/// Waits for `semaphore`, recording an issue instead of hanging forever when a test's choreography breaks.
func waitOrRecord(_ semaphore: DispatchSemaphore, _ what: String) -> Bool {
    if semaphore.wait(timeout: .now() + 120) == .timedOut {
        Issue.record("timed out waiting for \(what)")
        return false
    }
    return true
}
