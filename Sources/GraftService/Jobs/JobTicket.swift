// What the worker pool hands a runner: the job, its inputs' folders, and where its checkpoints and model go.
import Foundation

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
