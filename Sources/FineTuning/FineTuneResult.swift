/// What a finished fine-tuning run returns: where the model went, its weights' hash, labels, evaluation and
/// history.
import Foundation

/// The outcome of a finished run. JSON keys are snake_case.
public struct FineTuneResult: Codable, Sendable {
    /// The written model folder.
    public var modelDirectory: URL
    public var labels: [String]
    /// Evaluation of the saved (best-epoch) weights on the validation split; nil without a validation split.
    public var validation: EvaluationReport?
    public var history: [EpochMetrics]
    /// 1-based epoch whose weights were kept (lowest validation loss, or the last epoch without validation).
    public var bestEpoch: Int
    public var stopReason: StopReason
    /// True when later epochs trained on cached features of the frozen part.
    public var usedFeatureCache: Bool
    /// The cut node whose outputs were cached (nil when the whole network ran every step).
    public var cacheBoundary: String?
    /// The epoch the run resumed after (0 when it started fresh).
    public var resumedFromEpoch: Int
    public var trainableParameterCount: Int
    public var trainingImageCount: Int
    public var validationImageCount: Int
    public var datasetHash: String
    public var seconds: Double
    /// Steps run on the run's shared lane, one core given up to other work (see `FineTuneRun.sharedContext`).
    public var sharedCoreSteps: Int = 0
    /// SHA-256 of the written `weights.safetensors` (empty until the model is written).
    public var weightsSHA256 = ""
    /// The freeze policy the model was trained with: the spec's, or the one `"auto"` chose.
    public var freeze: FreezePolicy = .backbone
    /// Under `"freeze": "auto"`: every candidate, its validation score and cost, the choice and why.
    public var freezeSearch: FreezeSearchReport?
    /// The saved weights on the run's test set (``FineTuneRun/testSet``), which no choice of the run looked at.
    public var test: EvaluationReport?

    enum CodingKeys: String, CodingKey {
        case labels, validation, history, seconds
        case modelDirectory = "model_directory", bestEpoch = "best_epoch", stopReason = "stop_reason"
        case usedFeatureCache = "used_feature_cache", cacheBoundary = "cache_boundary"
        case resumedFromEpoch = "resumed_from_epoch", trainableParameterCount = "trainable_parameter_count"
        case trainingImageCount = "training_image_count", validationImageCount = "validation_image_count"
        case datasetHash = "dataset_hash", sharedCoreSteps = "shared_core_steps", weightsSHA256 = "weights_sha256"
        case freeze, freezeSearch = "freeze_search", test
    }
}
