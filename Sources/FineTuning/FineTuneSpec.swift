/// The hyperparameters of one fine-tuning run, with defaults a newcomer never needs to change, and their
/// validation (errors name the field).
import Foundation
import ImageData
import NeuralNetwork

/// What to freeze. JSON: `"auto"`, `"backbone"`, `"none"`, `{"until": "layer2_relu2"}` or
/// `{"trainable_layers": 2}`.
public enum FreezePolicy: Codable, Sendable, Equatable, CustomStringConvertible {
    /// Chosen per run on the validation split (the default): a linear probe, then each stage boundary of the base
    /// graph scored by a short fine-tune from the probed head, then the full run at the best depth
    /// (``FreezeSearch``).
    case auto
    /// Everything but the new head.
    case backbone
    /// Full fine-tune.
    case none
    /// Freeze every node up to and including this one (in graph order); later nodes train.
    case until(String)
    /// The last N layers with parameters train (the new head counts as one).
    case trainableLayers(Int)

    enum CodingKeys: String, CodingKey { case until, trainableLayers = "trainable_layers" }

    public init(from decoder: Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let text = try? single.decode(String.self) {
            switch text {
            case "auto": self = .auto
            case "backbone": self = .backbone
            case "none": self = .none
            default:
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                    debugDescription: "freeze must be \"auto\", \"backbone\", \"none\", {\"until\": node} or {\"trainable_layers\": n}"))
            }
            return
        }
        // Exactly one policy: `{"until": ..., "trainable_layers": ...}` contradicts itself, and an unknown key is a
        // typo that must not fall back to some other policy.
        let keys = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue).sorted()
        guard keys.count == 1, let key = CodingKeys(rawValue: keys[0]) else {
            let what = keys.isEmpty ? "an empty object" : "the keys " + keys.map { "'\($0)'" }.joined(separator: ", ")
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription:
                "freeze takes exactly one policy, {\"until\": node} or {\"trainable_layers\": n}; got \(what)"))
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch key {
        case .until: self = .until(try container.decode(String.self, forKey: .until))
        case .trainableLayers: self = .trainableLayers(try container.decode(Int.self, forKey: .trainableLayers))
        }
    }

    /// Any key of an object, to see every key the JSON holds (not only the known ones).
    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: Encoder) throws {
        switch self {
        case .auto: var c = encoder.singleValueContainer(); try c.encode("auto")
        case .backbone: var c = encoder.singleValueContainer(); try c.encode("backbone")
        case .none: var c = encoder.singleValueContainer(); try c.encode("none")
        case .until(let node): var c = encoder.container(keyedBy: CodingKeys.self); try c.encode(node, forKey: .until)
        case .trainableLayers(let n):
            var c = encoder.container(keyedBy: CodingKeys.self); try c.encode(n, forKey: .trainableLayers)
        }
    }

    /// The command-line spelling (`auto`, `backbone`, `none`, `until:<node>`, `layers:<N>`), as tables print it.
    public var description: String {
        switch self {
        case .auto: return "auto"
        case .backbone: return "backbone"
        case .none: return "none"
        case .until(let node): return "until:\(node)"
        case .trainableLayers(let n): return "layers:\(n)"
        }
    }
}

/// One fine-tuning run's settings. JSON keys are snake_case; every field has a default.
public struct FineTuneSpec: Codable, Sendable, Equatable {
    public enum Head: String, Codable, Sendable { case linear, mlp }
    public enum OptimizerKind: String, Codable, Sendable { case sgd, adam, adamw }
    public enum Schedule: String, Codable, Sendable { case constant, cosine }
    public enum ClassWeighting: String, Codable, Sendable {
        case none
        /// Weight of class c = N / (K · count_c): rare classes count as much as common ones.
        case balanced
    }

    public var freeze: FreezePolicy = .auto
    /// Under `"auto"`: the epochs the search may spend in all, summed over its candidates and rounds (0: as many
    /// as `epochs`). Counted in epochs, not seconds, so that the same seed makes the same choice on any machine;
    /// `time_limit_seconds` bounds the wall time on top.
    public var searchBudget: Int = 0
    /// When layers below the head train: their learning rate as a fraction of `learning_rate` (the head's). A
    /// pretrained body needs smaller steps than a new head; 1 trains both alike.
    public var bodyLearningRateScale: Double = 0.1
    /// When layers below the head train: epochs over which the rate rises linearly from a third to its value.
    public var warmupEpochs: Int = 1
    /// A run whose training loss rose this many epochs in a row, to well above its lowest, has diverged and
    /// fails (0: never checked).
    public var divergencePatience: Int = 3
    public var head: Head = .linear
    /// Hidden width and dropout of the `mlp` head.
    public var headHidden: Int = 128
    public var headDropout: Double = 0.2
    public var optimizer: OptimizerKind = .adam
    public var learningRate: Double = 1e-2
    public var schedule: Schedule = .constant
    /// SGD momentum (Nesterov).
    public var momentum: Double = 0.9
    public var epochs: Int = 30
    public var batchSize: Int = 50
    public var weightDecay: Double = 0
    public var labelSmoothing: Double = 0
    public var classWeighting: ClassWeighting = .none
    public var augmentation: AugmentationConfig = .off
    public var validationFraction: Double = 0.2
    /// Stop after this many epochs without a lower validation loss (0 = never).
    public var earlyStoppingPatience: Int = 0
    public var seed: UInt64 = 0
    /// Stop (keeping the best weights so far) after this many seconds (0 = no limit).
    public var timeLimitSeconds: Double = 0
    /// k of the top-k accuracy in evaluations.
    public var topK: Int = 3
    /// Run the frozen part once per image and train on cached features when allowed.
    public var featureCache: Bool = true
    /// With augmentation on: 0 recomputes the frozen part every step; K > 0 caches K augmented views of every
    /// training image (epoch e trains on view e mod K).
    public var augmentedViews: Int = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case freeze, head, optimizer, schedule, momentum, epochs, augmentation, seed
        case headHidden = "head_hidden", headDropout = "head_dropout", learningRate = "learning_rate"
        case batchSize = "batch_size", weightDecay = "weight_decay", labelSmoothing = "label_smoothing"
        case classWeighting = "class_weighting", validationFraction = "validation_fraction"
        case earlyStoppingPatience = "early_stopping_patience", timeLimitSeconds = "time_limit_seconds"
        case topK = "top_k", featureCache = "feature_cache", augmentedViews = "augmented_views"
        case searchBudget = "search_budget", bodyLearningRateScale = "body_learning_rate_scale"
        case warmupEpochs = "warmup_epochs", divergencePatience = "divergence_patience"
    }

    /// Missing keys take the defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = FineTuneSpec()
        freeze = try c.decodeIfPresent(FreezePolicy.self, forKey: .freeze) ?? d.freeze
        head = try c.decodeIfPresent(Head.self, forKey: .head) ?? d.head
        headHidden = try c.decodeIfPresent(Int.self, forKey: .headHidden) ?? d.headHidden
        headDropout = try c.decodeIfPresent(Double.self, forKey: .headDropout) ?? d.headDropout
        optimizer = try c.decodeIfPresent(OptimizerKind.self, forKey: .optimizer) ?? d.optimizer
        learningRate = try c.decodeIfPresent(Double.self, forKey: .learningRate) ?? d.learningRate
        schedule = try c.decodeIfPresent(Schedule.self, forKey: .schedule) ?? d.schedule
        momentum = try c.decodeIfPresent(Double.self, forKey: .momentum) ?? d.momentum
        epochs = try c.decodeIfPresent(Int.self, forKey: .epochs) ?? d.epochs
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? d.batchSize
        weightDecay = try c.decodeIfPresent(Double.self, forKey: .weightDecay) ?? d.weightDecay
        labelSmoothing = try c.decodeIfPresent(Double.self, forKey: .labelSmoothing) ?? d.labelSmoothing
        classWeighting = try c.decodeIfPresent(ClassWeighting.self, forKey: .classWeighting) ?? d.classWeighting
        augmentation = try c.decodeIfPresent(AugmentationConfig.self, forKey: .augmentation) ?? d.augmentation
        validationFraction = try c.decodeIfPresent(Double.self, forKey: .validationFraction) ?? d.validationFraction
        earlyStoppingPatience = try c.decodeIfPresent(Int.self, forKey: .earlyStoppingPatience) ?? d.earlyStoppingPatience
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        timeLimitSeconds = try c.decodeIfPresent(Double.self, forKey: .timeLimitSeconds) ?? d.timeLimitSeconds
        topK = try c.decodeIfPresent(Int.self, forKey: .topK) ?? d.topK
        featureCache = try c.decodeIfPresent(Bool.self, forKey: .featureCache) ?? d.featureCache
        augmentedViews = try c.decodeIfPresent(Int.self, forKey: .augmentedViews) ?? d.augmentedViews
        searchBudget = try c.decodeIfPresent(Int.self, forKey: .searchBudget) ?? d.searchBudget
        bodyLearningRateScale = try c.decodeIfPresent(Double.self, forKey: .bodyLearningRateScale)
            ?? d.bodyLearningRateScale
        warmupEpochs = try c.decodeIfPresent(Int.self, forKey: .warmupEpochs) ?? d.warmupEpochs
        divergencePatience = try c.decodeIfPresent(Int.self, forKey: .divergencePatience) ?? d.divergencePatience
    }

    /// The largest values a spec may hold, whatever the machine: beyond them a run cannot be useful, and some
    /// (a hidden layer of a billion units) would only exhaust memory. What fits the machine is
    /// ``MemoryEstimate``'s business.
    public enum Limits {
        public static let epochs = 10_000
        public static let batchSize = 4_096
        public static let headHidden = 65_536
        public static let learningRate: ClosedRange<Double> = 1e-10...10
        public static let weightDecay: ClosedRange<Double> = 0...1
        public static let topK = 1_000
        public static let timeLimitSeconds = 30.0 * 24 * 3600
    }

    /// Checks the values that need no model or dataset; ``FineTuneRun`` checks the rest (node names, classes).
    public func validate() throws {
        func fail(_ field: String, _ message: String) -> FineTuneError { .invalidSpec(field: field, message: message) }
        guard (1...Limits.epochs).contains(epochs) else {
            throw fail("epochs", "must be from 1 to \(Limits.epochs), got \(epochs)")
        }
        guard (1...Limits.batchSize).contains(batchSize) else {
            throw fail("batch_size", "must be from 1 to \(Limits.batchSize), got \(batchSize)")
        }
        // Float32 training: a rate beyond 10 overflows the weights within a few steps; below 1e-10 nothing moves.
        guard Limits.learningRate.contains(learningRate) else {
            throw fail("learning_rate", "must be a number from 1e-10 to 10 (typical: 1e-4 to 1e-1), got \(learningRate)")
        }
        guard Limits.weightDecay.contains(weightDecay) else {
            throw fail("weight_decay", "must be from 0 to 1 (typical: 1e-4), got \(weightDecay)")
        }
        guard (0..<1).contains(labelSmoothing) else { throw fail("label_smoothing", "must be in [0, 1), got \(labelSmoothing)") }
        guard (0..<1).contains(momentum) else { throw fail("momentum", "must be in [0, 1), got \(momentum)") }
        guard (0..<1).contains(validationFraction) else {
            throw fail("validation_fraction", "must be in [0, 1), got \(validationFraction)")
        }
        guard (0...Limits.epochs).contains(earlyStoppingPatience) else {
            throw fail("early_stopping_patience", "must be from 0 to \(Limits.epochs), got \(earlyStoppingPatience)")
        }
        guard (0...Limits.timeLimitSeconds).contains(timeLimitSeconds) else {
            throw fail("time_limit_seconds", "must be from 0 (no limit) to \(Int(Limits.timeLimitSeconds)) (30 days), "
                + "got \(timeLimitSeconds)")
        }
        guard (0...64).contains(augmentedViews) else {
            throw fail("augmented_views", "must be between 0 and 64, got \(augmentedViews)")
        }
        guard (0...Limits.epochs).contains(searchBudget) else {
            throw fail("search_budget", "must be from 0 (as many epochs as `epochs`) to \(Limits.epochs), got \(searchBudget)")
        }
        guard bodyLearningRateScale > 0 && bodyLearningRateScale <= 1 else {
            throw fail("body_learning_rate_scale", "must be in (0, 1] (typical: 0.1), got \(bodyLearningRateScale)")
        }
        guard (0...Limits.epochs).contains(warmupEpochs) else {
            throw fail("warmup_epochs", "must be from 0 to \(Limits.epochs), got \(warmupEpochs)")
        }
        guard (0...Limits.epochs).contains(divergencePatience) else {
            throw fail("divergence_patience", "must be from 0 (never checked) to \(Limits.epochs), got \(divergencePatience)")
        }
        guard (1...Limits.topK).contains(topK) else { throw fail("top_k", "must be from 1 to \(Limits.topK), got \(topK)") }
        if head == .mlp {
            guard (1...Limits.headHidden).contains(headHidden) else {
                throw fail("head_hidden", "must be from 1 to \(Limits.headHidden), got \(headHidden)")
            }
            guard (0..<1).contains(headDropout) else { throw fail("head_dropout", "must be in [0, 1), got \(headDropout)") }
        }
        if case .trainableLayers(let n) = freeze, !(1...Limits.epochs).contains(n) {
            throw fail("freeze.trainable_layers", "must be from 1 (the head) to \(Limits.epochs), got \(n)")
        }
        if case .until(let node) = freeze, node.isEmpty { throw fail("freeze.until", "names no node") }
        let problems = augmentation.problems
        if !problems.isEmpty { throw fail("augmentation", problems.joined(separator: "; ")) }
    }
}

extension FineTuneSpec {
    /// Checks the fields that depend on the base model — node names — from its manifest alone, so a service can
    /// refuse a job before any data is read or weights are loaded.
    public func validate(against manifest: ModelManifest) throws {
        guard case .until(let node) = freeze else { return }
        let below = manifest.nodes.map(\.name).filter { $0 != manifest.head }
        guard below.contains(node) else {
            let shown = below.count <= 12 ? below.joined(separator: ", ")
                : (below.prefix(6) + ["…"] + below.suffix(5)).joined(separator: ", ")
            throw FineTuneError.invalidSpec(field: "freeze.until", message:
                "'\(node)' is not a node below the head '\(manifest.head)' of this base model; its nodes: \(shown)")
        }
    }
}

/// Why a run could not start or finish; `field` names the spec field at fault when there is one.
public enum FineTuneError: Error, Equatable, CustomStringConvertible {
    case invalidSpec(field: String, message: String)
    case invalidDataset(message: String)
    case incompatibleModel(message: String)
    case checkpoint(message: String)
    /// The training loss became NaN or infinite at `step` (counted over the whole run, from 1). `afterUpdates`
    /// is false when no weight update had happened in this run yet (then the rate cannot be the cause).
    case diverged(epoch: Int, step: Int, loss: Double, learningRate: Double, afterUpdates: Bool)
    /// The epoch training loss rose `epochs` epochs in a row up to `loss` at `epoch` (1-based), well above its
    /// lowest, `lowest`.
    case lossRising(epoch: Int, epochs: Int, loss: Double, lowest: Double)
    /// No epoch's validation accuracy beat always answering the most common class: the best was `accuracy`,
    /// the baseline `baseline` (class `majorityClass`).
    case belowBaseline(accuracy: Double, baseline: Double, majorityClass: String)

    /// The spec field at fault (`dataset` for problems of the data), if any.
    public var field: String? {
        switch self {
        case .invalidSpec(let field, _): return field
        case .invalidDataset: return "dataset"
        case .diverged(_, _, _, _, let afterUpdates): return afterUpdates ? "learning_rate" : nil
        case .lossRising: return "learning_rate"
        case .belowBaseline: return nil
        case .incompatibleModel, .checkpoint: return nil
        }
    }

    public var description: String {
        switch self {
        case let .invalidSpec(field, message): return "\(field): \(message)"
        case let .invalidDataset(message): return "dataset: \(message)"
        case let .incompatibleModel(message): return "base model: \(message)"
        case let .checkpoint(message): return "checkpoint: \(message)"
        case let .diverged(epoch, step, loss, rate, afterUpdates):
            let cause = afterUpdates
                ? "the learning rate \(rate) is most likely too high; submit again with a learning_rate 10× lower"
                : "before any weight update, so the base model's weights or the images overflow Float32; "
                    + "check the base model (GET /models/:id) and the dataset"
            return "the training loss became \(loss) at step \(step) (epoch \(epoch)): \(cause). The run was stopped "
                + "and will not be retried."
        case let .lossRising(epoch, epochs, loss, lowest):
            return String(format: "the training loss rose %d epochs in a row, to %.4g at epoch %d from its lowest %.4g: "
                + "the run diverged. Submit again with a learning_rate 10× lower, or freeze more layers "
                + "(\"freeze\": \"auto\" chooses for you).", epochs, loss, epoch, lowest)
        case let .belowBaseline(accuracy, baseline, majorityClass):
            return String(format: "the best validation accuracy, %.4f, never beat answering '", accuracy) + majorityClass
                + String(format: "' for every image (%.4f): the model learnt nothing usable. Lower the learning_rate, "
                + "freeze more layers, or check that the labels match the images.", baseline)
        }
    }
}
