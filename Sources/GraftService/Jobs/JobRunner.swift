// The interface between the worker pool and whatever does a job's work (fine-tuning, in the real service).
import Foundation

/// Runs one job to completion, resuming from a checkpoint when one exists.
///
/// Contract: call `reporter.checkForStop()` before every step; when it throws `JobStopped(.shutdown)`, save a
/// checkpoint in `job.checkpointDirectory` and rethrow, so the next attempt resumes from it. Checkpoint at least
/// every epoch (creating the folder). Create and write the finished model's folder at `job.outputDirectory` and
/// describe it in the result (its weights' hash included): the pool neither makes nor reads that folder, and
/// removes it only when the job does not end in success.
/// Errors thrown (other than `JobStopped`) fail the job with their description as its message.
public protocol JobRunner: Sendable {
    func run(_ job: JobTicket, reporter: JobReporter) throws -> JobResult
}

/// What a runner is given: the job, where to keep checkpoints and where to write the model it makes.
public struct JobTicket: Sendable {
    public var jobID: String
    /// 1 on the first run, higher when resuming after a shutdown or crash.
    public var attempt: Int
    /// The job's specification as JSON text.
    public var specJSON: String
    public var baseModelID: String?
    public var datasetID: String?
    /// The base model's folder (`model.json` + `weights.safetensors`), resolved from the store.
    public var baseModelDirectory: URL?
    /// The dataset's folder of class folders, resolved from the store.
    public var datasetDirectory: URL?
    /// Survives across attempts; removed once the job ends. Not created until the runner writes to it.
    public var checkpointDirectory: URL
    /// Where the runner creates the fine-tuned model's folder; registered as `resultModelID` on success.
    public var outputDirectory: URL
    /// The id the produced model will get.
    public var resultModelID: String
    /// True while the service's predictions are busy: a job may then give up a core to them.
    public var predictionsActive: @Sendable () -> Bool = { false }
    /// What the job may write and use (the runner thins step metrics to `limits.maxMetricRows`).
    public var limits = JobLimits()

    public init(jobID: String, attempt: Int, specJSON: String, baseModelID: String?, datasetID: String?,
                baseModelDirectory: URL? = nil, datasetDirectory: URL? = nil,
                checkpointDirectory: URL, outputDirectory: URL, resultModelID: String) {
        self.jobID = jobID
        self.attempt = attempt
        self.specJSON = specJSON
        self.baseModelID = baseModelID
        self.datasetID = datasetID
        self.baseModelDirectory = baseModelDirectory
        self.datasetDirectory = datasetDirectory
        self.checkpointDirectory = checkpointDirectory
        self.outputDirectory = outputDirectory
        self.resultModelID = resultModelID
    }
}

/// What a successful run produced.
public struct JobResult: Sendable {
    /// The model written to the ticket's `outputDirectory`, or nil for jobs that make none.
    public var model: ProducedModel?

    public init(model: ProducedModel?) {
        self.model = model
    }
}

/// A fine-tuned model a run wrote to disk, described for the registry.
public struct ProducedModel: Sendable {
    public var name: String
    /// SHA-256 of the weights file.
    public var weightsHash: String
    public var labels: [String]
    /// Provenance (base model, dataset, hyperparameters, seed) as a JSON object's text.
    public var provenanceJSON: String
    /// Final metrics as a JSON object's text.
    public var metricsJSON: String

    public init(name: String, weightsHash: String, labels: [String], provenanceJSON: String = "{}",
                metricsJSON: String = "{}") {
        self.name = name
        self.weightsHash = weightsHash
        self.labels = labels
        self.provenanceJSON = provenanceJSON
        self.metricsJSON = metricsJSON
    }
}

/// Why a run must stop early.
public enum JobStopReason: Sendable, Equatable {
    /// A user cancelled the job: stop, no need to checkpoint.
    case cancellationRequested
    /// The service is shutting down: finish the step, checkpoint, stop; the job resumes on the next start.
    case shutdown
}

/// Thrown by `JobReporter.checkForStop()`; runners rethrow it after any clean-up.
public struct JobStopped: Error, Equatable, CustomStringConvertible {
    public var reason: JobStopReason

    public init(reason: JobStopReason) {
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .cancellationRequested: return "The job was cancelled."
        case .shutdown: return "The service is shutting down; the job resumes from its checkpoint on the next start."
        }
    }
}

/// How a runner tells the service where it is. Implemented by the worker pool over the store.
public protocol JobReporter: AnyObject {
    /// Stores the job's position (and heartbeats).
    func reportProgress(_ progress: JobProgress) throws
    /// Stores metric values for a step or an epoch.
    func recordMetrics(_ values: [MetricValue]) throws
    /// Appends an event (`epoch`, `checkpoint`, `resumed`, ...) to the job's history.
    func recordEvent(kind: String, message: String, data: [String: Any]) throws
    /// Throws `JobStopped` when the job was cancelled or the service is stopping. Call before every step.
    func checkForStop() throws
}
