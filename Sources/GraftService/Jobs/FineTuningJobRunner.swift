// The runner behind `graft serve`: one job = one `FineTuneRun`, its progress and metrics written to the store.
import FineTuning
import Foundation
import ImageData
import Tensors

/// Runs a job's fine-tune: base model folder + dataset folder + the spec's `hyperparameters` (a `FineTuneSpec`).
///
/// Cancellation and shutdown are checked before every step. A shutdown stops at the step boundary and the job
/// resumes on the next start from the checkpoint `FineTuneRun` wrote after its last finished epoch.
public struct FineTuningJobRunner: JobRunner {
    /// OpenMP threads of each job's compute lane. Every run gets a lane of its own (a `ComputeContext` is used by
    /// one thread at a time); predictions run on the predictor's separate single-thread lane.
    public var threads: Int

    public init(threads: Int = ComputeContext.availableCores) {
        precondition(threads >= 1, "a fine-tuning job needs at least one thread")
        self.threads = threads
    }

    public func run(_ job: JobTicket, reporter: JobReporter) throws -> JobResult {
        let spec = try Self.spec(fromJobSpec: job.specJSON)
        guard let base = job.baseModelDirectory else {
            throw ServiceError.invalid(field: "base_model", message:
                "The job's base model '\(job.baseModelID ?? "?")' no longer exists; submit the job again with another.")
        }
        guard let dataset = job.datasetDirectory else {
            throw ServiceError.invalid(field: "dataset", message:
                "The job's dataset '\(job.datasetID ?? "?")' no longer exists; upload it again and resubmit.")
        }
        if job.attempt > 1 { try Self.announceResume(job, reporter: reporter) }
        var run = FineTuneRun(base: base, dataset: .source(.folder(dataset)), spec: spec,
                              outputDirectory: job.outputDirectory, checkpointDirectory: job.checkpointDirectory,
                              context: ComputeContext(threads: threads))
        // While predictions are busy the job trains on one core fewer: on every core it would stall at each
        // OpenMP barrier whose thread lost its core to them (`bench/SERVICE.md` has the paces).
        if threads > 1 {
            run.sharedContext = ComputeContext(threads: threads - 1)
            run.yieldsCore = job.predictionsActive
        }
        var stopped: JobStopped?
        var reportingError: Error?
        /// Epochs of the run that makes the model recorded as they ended (the others are recorded at the end).
        var recordedEpochs = Set<Int>()
        let result: FineTuneResult
        do {
            result = try run.run(
                progress: { progress in
                    guard reportingError == nil else { return }
                    if progress.kind == .epoch && progress.phase == .training { recordedEpochs.insert(progress.epoch) }
                    do {
                        try Self.report(progress, to: reporter, limits: job.limits,
                                        recordedEpochs: progress.epochs * JobLimits.recordedPhases(spec))
                    } catch { reportingError = error }
                },
                isCancelled: {
                    if reportingError != nil { return true }
                    do {
                        try reporter.checkForStop()
                        return false
                    } catch let stop as JobStopped {
                        stopped = stop
                        return true
                    } catch {
                        reportingError = error
                        return true
                    }
                })
        } catch is FineTuneCancelled {
            if let reportingError { throw reportingError }
            throw stopped ?? JobStopped(reason: .cancellationRequested)
        }
        if let reportingError { throw reportingError }
        if let search = result.freezeSearch {
            // The model's epochs that ran before it was chosen — the linear probe's (under `probe_` names), or the
            // chosen candidate's that the full run went on from — are its series too.
            try Self.recordHistory(result.history.filter { !recordedEpochs.contains($0.epoch) }, to: reporter)
            try reporter.recordEvent(kind: "freeze_search", message: "Trained with freeze \(search.chosen): \(search.reason).",
                                     data: try Self.object(search))
        }

        let metrics = try String(decoding: Self.encoder.encode(FinalMetrics(result: result)), as: UTF8.self)
        let provenance = try String(decoding: Self.encoder.encode(Provenance(
            baseModel: job.baseModelID, dataset: job.datasetID, datasetHash: result.datasetHash, job: job.jobID,
            spec: spec, freeze: result.freeze, freezeSearch: result.freezeSearch)), as: UTF8.self)
        return JobResult(model: ProducedModel(
            name: "\(job.baseModelID ?? "model")-\(job.jobID)", weightsHash: result.weightsSHA256,
            labels: result.labels, provenanceJSON: provenance, metricsJSON: metrics))
    }

    /// The `hyperparameters` object of a stored job spec as a `FineTuneSpec` (missing keys take defaults).
    static func spec(fromJobSpec json: String) throws -> FineTuneSpec {
        struct Stored: Decodable { var hyperparameters: FineTuneSpec? }
        return try JSONDecoder().decode(Stored.self, from: Data(json.utf8)).hyperparameters ?? FineTuneSpec()
    }

    /// Says what a later attempt starts from, as the run will find it: the newest intact checkpoint, the previous
    /// one when the newest is damaged, or nothing (deleted, damaged, or never written) and so epoch 1.
    static func announceResume(_ job: JobTicket, reporter: JobReporter) throws {
        let inspection = CheckpointInspection(directory: job.checkpointDirectory)
        let passedOver = inspection.problems.isEmpty ? "" : " (" + inspection.problems.joined(separator: "; ") + ")"
        var data: [String: Any] = ["attempt": job.attempt]
        if let epoch = inspection.resumesAfterEpoch {
            data["resumes_after_epoch"] = epoch
            try reporter.recordEvent(kind: "resumed", message:
                "Attempt \(job.attempt): resuming after epoch \(epoch) from its checkpoint\(passedOver).", data: data)
        } else {
            if !inspection.problems.isEmpty { data["problems"] = inspection.problems }
            try reporter.recordEvent(kind: "restarted", message: "Attempt \(job.attempt): no intact checkpoint to "
                + "resume from\(inspection.problems.isEmpty ? " (none was written, or it was deleted)" : passedOver), "
                + "so training restarts from scratch at epoch 1.", data: data)
        }
    }

    /// `recordedEpochs`: the epochs of every phase recorded as series (the probe's and the run's), for the stride.
    private static func report(_ progress: FineTuneProgress, to reporter: JobReporter, limits: JobLimits,
                               recordedEpochs: Int) throws {
        // Epochs are numbered from 1 (the one running, or the last one finished), as in the metrics and events.
        try reporter.reportProgress(JobProgress(epoch: progress.epoch, totalEpochs: progress.epochs,
                                                step: progress.globalStep, totalSteps: progress.totalSteps))
        // The series hold the run that makes the model; the linear probe's under `probe_` names; the search's
        // candidates are in its `freeze_search` events (one per round, and the choice).
        if progress.phase == .search && progress.kind != .search { return }
        let prefix = progress.phase == .probe ? "probe_" : ""
        switch progress.kind {
        case .search:
            guard let search = progress.search else { break }
            let message = search.chosen == .auto ? "Freeze search: \(search.reason) scored."
                : "Freeze search chose \(search.chosen): \(search.reason)."
            try reporter.recordEvent(kind: "freeze_search", message: message, data: try object(search))
        case .step:
            // Every k-th step (and each epoch's last) keeps a long job's rows under limits.maxMetricRows.
            let stride = limits.metricStride(totalSteps: progress.totalSteps, epochs: recordedEpochs)
            guard progress.globalStep % stride == 0 || progress.step == progress.stepsPerEpoch else { break }
            try reporter.recordMetrics([
                MetricValue(scope: .step, epoch: progress.epoch, step: progress.globalStep, name: prefix + "loss",
                            value: progress.loss),
                MetricValue(scope: .step, epoch: progress.epoch, step: progress.globalStep, name: prefix + "accuracy",
                            value: progress.accuracy),
                MetricValue(scope: .step, epoch: progress.epoch, step: progress.globalStep, name: prefix + "images_per_second",
                            value: progress.imagesPerSecond),
            ])
        case .epoch:
            var values = [
                MetricValue(scope: .epoch, epoch: progress.epoch, step: progress.globalStep, name: prefix + "loss",
                            value: progress.loss),
                MetricValue(scope: .epoch, epoch: progress.epoch, step: progress.globalStep, name: prefix + "accuracy",
                            value: progress.accuracy),
            ]
            if let validation = progress.validation {
                values.append(MetricValue(scope: .epoch, epoch: progress.epoch, step: progress.globalStep,
                                          name: prefix + "val_loss", value: validation.loss))
                values.append(MetricValue(scope: .epoch, epoch: progress.epoch, step: progress.globalStep,
                                          name: prefix + "val_accuracy", value: validation.accuracy))
            }
            try reporter.recordMetrics(values)
            var data: [String: Any] = ["epoch": progress.epoch, "loss": progress.loss, "accuracy": progress.accuracy]
            if let validation = progress.validation {
                data["val_loss"] = validation.loss
                data["val_accuracy"] = validation.accuracy
            }
            let what = progress.phase == .probe ? "Linear probe epoch" : "Epoch"
            try reporter.recordEvent(kind: progress.phase == .probe ? "probe_epoch" : "epoch",
                                     message: "\(what) \(progress.epoch) of \(progress.epochs) finished.", data: data)
        }
    }

    /// Epochs of the model as the unprefixed epoch series, at step 0 (their steps ran under other phases).
    private static func recordHistory(_ history: [EpochMetrics], to reporter: JobReporter) throws {
        var values: [MetricValue] = []
        for epoch in history {
            values.append(MetricValue(scope: .epoch, epoch: epoch.epoch, step: 0, name: "loss", value: epoch.trainingLoss))
            values.append(MetricValue(scope: .epoch, epoch: epoch.epoch, step: 0, name: "accuracy",
                                      value: epoch.trainingAccuracy))
            if let loss = epoch.validationLoss {
                values.append(MetricValue(scope: .epoch, epoch: epoch.epoch, step: 0, name: "val_loss", value: loss))
            }
            if let accuracy = epoch.validationAccuracy {
                values.append(MetricValue(scope: .epoch, epoch: epoch.epoch, step: 0, name: "val_accuracy", value: accuracy))
            }
        }
        try reporter.recordMetrics(values)
    }

    /// A report as the `[String: Any]` an event's data is.
    static func object<T: Encodable>(_ value: T) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: encoder.encode(value)) as? [String: Any] ?? [:]
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    private struct FinalMetrics: Encodable {
        var validation: EvaluationReport?
        var bestEpoch: Int
        var stopReason: StopReason
        var history: [EpochMetrics]
        var usedFeatureCache: Bool
        var freeze: FreezePolicy
        var freezeSearch: FreezeSearchReport?

        init(result: FineTuneResult) {
            freeze = result.freeze
            freezeSearch = result.freezeSearch
            validation = result.validation
            bestEpoch = result.bestEpoch
            stopReason = result.stopReason
            history = result.history
            usedFeatureCache = result.usedFeatureCache
        }

        enum CodingKeys: String, CodingKey {
            case validation, history, freeze
            case bestEpoch = "best_epoch", stopReason = "stop_reason", usedFeatureCache = "used_feature_cache"
            case freezeSearch = "freeze_search"
        }
    }

    private struct Provenance: Encodable {
        var baseModel: String?
        var dataset: String?
        var datasetHash: String
        var job: String
        var spec: FineTuneSpec
        /// The policy the weights were trained with (the spec's, or what `auto` chose): rerun with it to reproduce.
        var freeze: FreezePolicy
        var freezeSearch: FreezeSearchReport?

        enum CodingKeys: String, CodingKey {
            case dataset, job, spec, freeze
            case freezeSearch = "freeze_search"
            case baseModel = "base_model", datasetHash = "dataset_hash"
        }
    }
}
