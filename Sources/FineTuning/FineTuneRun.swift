/// One fine-tuning run, from a base model folder and a dataset to a fine-tuned model folder: the single entry
/// point the command line and the service's jobs call.
import Foundation
import ImageData
import NeuralNetwork
import Tensors

/// The images a run learns from.
public enum FineTuneData: Sendable {
    /// Any dataset source; validation is its `val/` folder or a stratified split by `validation_fraction`.
    case source(DatasetSource)
    /// Datasets already loaded (validation nil: split the training set by `validation_fraction`).
    case datasets(training: Dataset, validation: Dataset?)
}

extension FineTuneData {
    /// A folder of class folders, or a `.zip`, `.tar`, `.tar.gz` or `.tgz` of one (extracted safely into a new
    /// folder under `temporaryRoot`).
    public static func files(at url: URL, temporaryRoot: URL = FileManager.default.temporaryDirectory) -> FineTuneData {
        let name = url.lastPathComponent.lowercased()
        guard [".zip", ".tar", ".tar.gz", ".tgz"].contains(where: { name.hasSuffix($0) }) else { return .source(.folder(url)) }
        return .source(.archive(url, extractTo: temporaryRoot.appendingPathComponent("graft-\(UUID().uuidString)")))
    }

    /// Fashion-MNIST classes from Debian's IDX files: their training images (the first `perClassLimit` of each
    /// class when given), validated on a split of them by `validation_fraction`. Their test images are
    /// ``fashionMNISTTest(classes:)``, for ``FineTuneRun/testSet``: validating on them, as this once did, chose the
    /// best epoch by the test set and made its accuracy optimistic.
    public static func fashionMNIST(classes: [Int], perClassLimit: Int? = nil) throws -> FineTuneData {
        .datasets(training: try IDXDataset.fashionMNIST(split: "train", classes: classes, perClassLimit: perClassLimit),
                  validation: nil)
    }

    /// All test images of these Fashion-MNIST classes.
    public static func fashionMNISTTest(classes: [Int]) throws -> Dataset {
        try IDXDataset.fashionMNIST(split: "t10k", classes: classes)
    }
}

/// One fine-tuning run.
///
/// ```swift
/// let run = FineTuneRun(base: baseFolder, dataset: .source(.folder(images)), spec: FineTuneSpec(),
///                       outputDirectory: out, checkpointDirectory: checkpoints)
/// let result = try run.run(progress: { print($0.epoch, $0.loss) }, isCancelled: { token.isCancelled })
/// ```
///
/// `run` validates the spec against the model and the data (errors name the field), swaps the head, freezes
/// per the policy, trains, keeps the weights of the epoch with the lowest validation loss, and writes the model
/// folder (manifest with labels, provenance and metrics; weights; `evaluation.json`). With a checkpoint
/// directory it writes a checkpoint after every epoch and, when one of the same run is there, resumes after it.
public struct FineTuneRun {
    public var base: URL
    public var dataset: FineTuneData
    public var spec: FineTuneSpec
    public var outputDirectory: URL
    public var checkpointDirectory: URL?
    /// Threads for oneDNN and the loaders.
    public var context: ComputeContext
    /// A lane of fewer threads for while `yieldsCore()` answers true: the steps then leave a core to other work
    /// (the service's predictions). Without one the run keeps `context` throughout: a team of threads whose core
    /// is taken waits at every barrier (`bench/SERVICE.md` measures both).
    public var sharedContext: ComputeContext?
    /// Asked before every step. Lane changes recompile the plans, so they are `laneHoldSeconds` apart at least.
    public var yieldsCore: () -> Bool = { false }
    public var laneHoldSeconds: Double = 5

    /// Training or validation sets whose normalised floats would take more bytes than this are decoded batch by
    /// batch instead of all at once (EfficientNet's 224×224×3 input: 512 MiB is about 900 images).
    public var materializedLimit = 512 << 20
    /// Images the saved model is evaluated on at the end (``FineTuneResult/test``) and that nothing else sees: no
    /// epoch, early stop or freeze choice depends on them. Its classes must be the training set's.
    public var testSet: Dataset?

    public init(base: URL, dataset: FineTuneData, spec: FineTuneSpec, outputDirectory: URL,
                checkpointDirectory: URL? = nil, context: ComputeContext = ComputeContext()) {
        self.base = base
        self.dataset = dataset
        self.spec = spec
        self.outputDirectory = outputDirectory
        self.checkpointDirectory = checkpointDirectory
        self.context = context
    }

    /// Trains and writes the model. `progress` is called on the calling thread after every step and epoch;
    /// `isCancelled` before every step (returning true throws ``FineTuneCancelled``).
    ///
    /// When layers below the head train, the run first fits the new head alone on the frozen backbone's cached
    /// features (a linear probe) and fine-tunes from there (LP-FT: Kumar et al., "Fine-Tuning can Distort
    /// Pretrained Features and Underperform Out-of-Distribution", ICLR 2022): a random head's first gradients
    /// would otherwise flow into the pretrained body. Under `"freeze": "auto"` the stage boundaries are scored in
    /// between (``FreezeSearch``).
    public func run(progress: (FineTuneProgress) -> Void = { _ in }, isCancelled: () -> Bool = { false }) throws
        -> FineTuneResult
    {
        let started = Date()
        try spec.validate()
        let baseModel = try ModelFolder.load(from: base, context: context)
        let (training, validation) = try loadData()
        if let testSet, testSet.classNames != training.classNames {
            throw FineTuneError.invalidDataset(message: "test classes \(testSet.classNames) differ from training classes \(training.classNames)")
        }
        let images = try PreparedImages(run: self, imageSpec: baseModel.manifest.input, training: training,
                                        validation: validation)
        // The phases call back only while `execute` runs.
        let (outcome, sharedCoreSteps) = try withoutActuallyEscaping(progress) { progress in
            try withoutActuallyEscaping(isCancelled) { isCancelled in
                var search = FreezeSearch(run: self, baseModel: baseModel, training: training, images: images,
                                          started: started, progress: progress, isCancelled: isCancelled)
                return (try search.execute(), search.sharedCoreSteps)
            }
        }
        let trainer = outcome.trainer, plan = outcome.plan
        let final = try trainer.restoreBest()
        var result = FineTuneResult(
            modelDirectory: outputDirectory, labels: training.classNames, validation: final,
            history: trainer.state.history, bestEpoch: trainer.state.bestEpoch, stopReason: trainer.stopReason,
            usedFeatureCache: trainer.cacheable, cacheBoundary: trainer.cacheable ? plan.boundary : nil,
            resumedFromEpoch: outcome.resumedFrom,
            trainableParameterCount: trainer.step.parameters.reduce(0) { $0 + $1.parameter.value.count },
            trainingImageCount: trainer.trainImages.count, validationImageCount: trainer.validationImages?.count ?? 0,
            datasetHash: trainer.datasetHash, seconds: 0, sharedCoreSteps: sharedCoreSteps)
        result.freeze = outcome.policy
        result.freezeSearch = outcome.report
        if let testSet {
            let images = try TrainingInputs.images(testSet, spec: baseModel.manifest.input,
                                                   materializedLimit: materializedLimit)
            result.test = try Evaluation.evaluate(graph: plan.graph, images: images, classCount: training.classNames.count,
                                                  batchSize: max(spec.batchSize, 256),
                                                  topK: min(spec.topK, training.classNames.count))
        }
        result.seconds = Date().timeIntervalSince(started)
        try writeModel(plan: plan, baseModel: baseModel, training: training, result: &result)
        return result
    }

    // MARK: - Pieces

    private func loadData() throws -> (Dataset, Dataset?) {
        var training: Dataset, validation: Dataset?
        switch dataset {
        case .source(let source):
            let loaded = try DatasetLoader().load(source)
            guard loaded.report.isUsable else {
                throw FineTuneError.invalidDataset(
                    message: loaded.report.errors.map(\.message).joined(separator: "; "))
            }
            (training, validation) = loaded.validation == nil && spec.validationFraction == 0
                ? (loaded.training, nil)
                : loaded.trainingAndValidation(validationFraction: spec.validationFraction, seed: spec.seed)
        case .datasets(let train, let given):
            training = train
            validation = given
            if given == nil && spec.validationFraction > 0 {
                let split = DatasetSplit.stratified(labels: train.labels, validationFraction: spec.validationFraction,
                                                    seed: spec.seed)
                training = train.subset(split.training, identifierSuffix: "train")
                validation = train.subset(split.validation, identifierSuffix: "val")
            }
        }
        guard training.classNames.count >= 2 else {
            throw FineTuneError.invalidDataset(message: "needs at least 2 classes, found \(training.classNames.count)")
        }
        if let empty = zip(training.classNames, training.classCounts).first(where: { $0.1 == 0 }) {
            throw FineTuneError.invalidDataset(message: "class '\(empty.0)' has no training images")
        }
        if let validation, validation.classNames != training.classNames {
            throw FineTuneError.invalidDataset(message: "validation classes \(validation.classNames) differ from training classes \(training.classNames)")
        }
        return (training, validation?.count == 0 ? nil : validation)
    }

    /// Writes the model folder (manifest, weights, `evaluation.json`) and records the weights' SHA-256 in `result`:
    /// the run owns its output, so callers need not open it again.
    private func writeModel(plan: TrainingPlan, baseModel: ModelFolder, training: Dataset,
                            result: inout FineTuneResult) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let specJSON = String(decoding: try encoder.encode(spec), as: UTF8.self)
        var provenance: [String: String] = [
            "base": base.standardizedFileURL.path, "dataset": training.identifier, "dataset_hash": result.datasetHash,
            "spec": specJSON, "created_by": "graft finetune", "best_epoch": "\(result.bestEpoch)",
            "stop_reason": result.stopReason.rawValue,
        ]
        if let recipe = baseModel.manifest.provenance["recipe"] { provenance["base_recipe"] = recipe }
        // The policy the weights were trained with: a rerun with it as a fixed `freeze` reproduces them.
        provenance["freeze"] = result.freeze.description
        if let search = result.freezeSearch {
            provenance["freeze_search"] = String(decoding: try encoder.encode(search), as: UTF8.self)
        }
        // Threads sum in another order on the shared lane: a bit-identical rerun needs the same steps there.
        provenance["threads"] = "\(context.threads)"
        if result.sharedCoreSteps > 0 {
            provenance["shared_core_steps"] = "\(result.sharedCoreSteps) on \(sharedContext?.threads ?? 0) thread(s)"
        }
        var metrics: [String: Double] = ["best_epoch": Double(result.bestEpoch), "epochs_run": Double(result.history.count)]
        if let validation = result.validation {
            metrics["validation_accuracy"] = validation.accuracy
            metrics["validation_loss"] = validation.loss
            metrics["validation_top_k_accuracy"] = validation.topKAccuracy
        }
        let manifest = ModelManifest(nodes: plan.graph.nodes, input: baseModel.manifest.input, labels: result.labels,
                                     head: baseModel.manifest.head, provenance: provenance, metrics: metrics)
        result.weightsSHA256 = try ModelFolder(manifest: manifest, graph: plan.graph).save(to: outputDirectory)
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try encoder.encode(result).write(to: outputDirectory.appendingPathComponent("evaluation.json"), options: .atomic)
    }
}

/// What a checkpoint carries besides weights and optimizer state.
struct RunState {
    var epochsDone = 0
    var bestEpoch = 0
    var bestLoss = Double.infinity
    var staleEpochs = 0
    var bestWeights: [String: Tensor]?
    var history: [EpochMetrics] = []
}
