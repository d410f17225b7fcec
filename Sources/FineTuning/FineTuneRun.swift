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
    /// (the service's predictions). Without one the run keeps `context` throughout. Measured on 2 cores, a job
    /// on both kept 13 % of its pace while predictions took one; on one thread it keeps about half.
    public var sharedContext: ComputeContext?
    /// Asked before every step. Lane changes recompile the plans, so they are `laneHoldSeconds` apart at least.
    public var yieldsCore: () -> Bool = { false }
    public var laneHoldSeconds: Double = 5

    /// Training or validation sets whose normalised floats would take more bytes than this are decoded batch by
    /// batch instead of all at once (EfficientNet's 224×224×3 input: 512 MiB is about 900 images).
    public var materializedLimit = 512 << 20

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
    public func run(progress: (FineTuneProgress) -> Void = { _ in }, isCancelled: () -> Bool = { false }) throws
        -> FineTuneResult
    {
        let started = Date()
        try spec.validate()
        let baseModel = try ModelFolder.load(from: base, context: context)
        let (training, validation) = try loadData()
        let classes = training.classNames
        let imageSpec = try baseModel.manifest.input.imageSpec()
        let plan = try TrainingPlan(base: baseModel, classes: classes.count, spec: spec, context: context)

        let trainImages = try Self.images(training, spec: imageSpec, materializedLimit: materializedLimit)
        let validationImages = try validation.map { try Self.images($0, spec: imageSpec, materializedLimit: materializedLimit) }
        let datasetHash = try Self.hash(classes: classes, sets: [training] + (validation.map { [$0] } ?? []),
                                        spec: imageSpec)

        // Feature cache: the frozen prefix runs once per image when nothing below the cut trains and the
        // images never change (no augmentation).
        // With augmentation, K augmented views per image can be cached instead (spec.augmented_views).
        let cacheable = spec.featureCache && plan.prefix != nil
            && (!spec.augmentation.enabled || spec.augmentedViews > 0)
        var trainInputs: any ImageBatches = trainImages
        var validationInputs: (any ImageBatches)? = validationImages
        var views: [TensorImages] = []
        var trainGraph = plan.graph
        if cacheable, let prefix = plan.prefix, let suffix = plan.suffix {
            if spec.augmentation.enabled {
                views = try (0..<spec.augmentedViews).map { view in
                    try Self.features(prefix, Self.augmentedView(training, spec: imageSpec, config: spec.augmentation,
                                                                 seed: spec.seed, view: view), batchSize: 256)
                }
            } else {
                trainInputs = try Self.features(prefix, trainImages, batchSize: 256)
            }
            validationInputs = try validationImages.map { try Self.features(prefix, $0, batchSize: 256) }
            trainGraph = suffix
        }

        let parameters = trainGraph.namedParameters().filter { $0.parameter.isTrainable }
        let optimizer = makeOptimizer()
        let weights: [Float]? = spec.classWeighting == .balanced ? training.classCounts.map {
            Float(Double(training.count) / (Double(classes.count) * Double($0)))
        } : nil
        let loss = SoftmaxCrossEntropy(labelSmoothing: Float(spec.labelSmoothing), classWeights: weights)
        let evaluationLoss = SoftmaxCrossEntropy()
        let stepsPerEpoch = (trainImages.count + spec.batchSize - 1) / spec.batchSize
        let totalSteps = stepsPerEpoch * spec.epochs
        let schedule: LearningRateSchedule = spec.schedule == .cosine
            ? CosineSchedule(learningRate: Float(spec.learningRate)) : ConstantSchedule(learningRate: Float(spec.learningRate))

        // Resume.
        var state = RunState()
        if let checkpointDirectory {
            state = try Checkpoint.load(from: checkpointDirectory, spec: spec, datasetHash: datasetHash, plan: plan,
                                        optimizer: optimizer, parameters: parameters) ?? state
        }
        let resumedFrom = state.epochsDone

        var stopReason = StopReason.completed
        var globalStep = state.epochsDone * stepsPerEpoch
        let runStart = Date()
        var stepsThisRun = 0
        var laneChanged = Date.distantPast
        var sharedSteps = 0
        epochs: for epoch in state.epochsDone..<spec.epochs {
            let epochStart = Date()
            var lossSum = 0.0, correct = 0, seen = 0
            if !views.isEmpty { trainInputs = views[epoch % views.count] }
            let loader = spec.augmentation.enabled && !cacheable ? BatchLoader(
                dataset: training, indices: Array(0..<training.count), spec: imageSpec,
                options: BatchLoaderOptions(batchSize: spec.batchSize, shuffles: true, seed: spec.seed, epoch: epoch,
                                            augmentation: spec.augmentation, workers: max(1, context.threads))) : nil
            let order = Self.order(count: trainInputs.count, seed: spec.seed, epoch: epoch)
            for step in 0..<stepsPerEpoch {
                if isCancelled() { throw FineTuneCancelled(epoch: epoch + 1, step: step + 1) }
                if let sharedContext {
                    let lane = yieldsCore() ? sharedContext : context
                    if lane !== trainGraph.context, Date().timeIntervalSince(laneChanged) >= laneHoldSeconds {
                        trainGraph.use(lane)
                        laneChanged = Date()
                    }
                    if trainGraph.context === sharedContext { sharedSteps += 1 }
                }
                let inputs: Tensor, labels: [Int]
                if let loader {
                    guard let batch = try loader.next() else { break }
                    (inputs, labels) = (batch.images, batch.labels)
                } else {
                    let indices = Array(order[(step * spec.batchSize)..<min(order.count, (step + 1) * spec.batchSize)])
                    (inputs, labels) = try trainInputs.batch(indices)
                }
                let logits = try trainGraph.forward(inputs, mode: .training)
                let (value, gradient) = loss(logits: logits, labels: labels)
                // A NaN or infinite loss poisons every weight at the next update: stop at once, naming the step.
                guard value.isFinite else {
                    throw FineTuneError.diverged(epoch: epoch + 1, step: globalStep + 1, loss: Double(value),
                        learningRate: Double(schedule.learningRate(atStep: globalStep, totalSteps: totalSteps)),
                        afterUpdates: stepsThisRun > 0)
                }
                for (_, parameter) in parameters { parameter.zeroGradient() }
                try trainGraph.backward(gradient)
                let rate = schedule.learningRate(atStep: globalStep, totalSteps: totalSteps)
                optimizer.learningRate = rate
                optimizer.step(parameters)
                globalStep += 1
                stepsThisRun += 1
                lossSum += Double(value) * Double(labels.count)
                correct += Metrics.correctCount(logits: logits, labels: labels)
                seen += labels.count
                let elapsed = Date().timeIntervalSince(runStart)
                let speed = Double(stepsThisRun) / max(elapsed, 1e-9)
                progress(FineTuneProgress(
                    kind: .step, epoch: epoch + 1, epochs: spec.epochs, step: step + 1, stepsPerEpoch: stepsPerEpoch,
                    globalStep: globalStep, totalSteps: totalSteps, loss: lossSum / Double(seen),
                    accuracy: Double(correct) / Double(seen), learningRate: Double(rate),
                    imagesPerSecond: Double(seen) / max(Date().timeIntervalSince(epochStart), 1e-9),
                    etaSeconds: Double(totalSteps - globalStep) / speed, validation: nil))
                if spec.timeLimitSeconds > 0 && Date().timeIntervalSince(started) >= spec.timeLimitSeconds {
                    stopReason = .timeLimit
                }
                if stopReason == .timeLimit && step + 1 < stepsPerEpoch { break }
            }
            // Validation, best weights, early stopping, checkpoint.
            let report = try validationInputs.map {
                try Evaluation.evaluate(graph: trainGraph, images: $0, classCount: classes.count,
                                        batchSize: max(spec.batchSize, 256), topK: min(spec.topK, classes.count),
                                        loss: evaluationLoss)
            }
            let metrics = EpochMetrics(
                epoch: epoch + 1, trainingLoss: seen == 0 ? 0 : lossSum / Double(seen),
                trainingAccuracy: seen == 0 ? 0 : Double(correct) / Double(seen), validationLoss: report?.loss,
                validationAccuracy: report?.accuracy, seconds: Date().timeIntervalSince(epochStart))
            state.history.append(metrics)
            state.epochsDone = epoch + 1
            let score = report?.loss ?? metrics.trainingLoss
            if report == nil || score < state.bestLoss {
                state.bestLoss = score
                state.bestEpoch = epoch + 1
                state.bestWeights = plan.trainedState()
                state.staleEpochs = 0
            } else {
                state.staleEpochs += 1
            }
            let elapsed = Date().timeIntervalSince(runStart)
            progress(FineTuneProgress(
                kind: .epoch, epoch: epoch + 1, epochs: spec.epochs, step: stepsPerEpoch, stepsPerEpoch: stepsPerEpoch,
                globalStep: globalStep, totalSteps: totalSteps, loss: metrics.trainingLoss,
                accuracy: metrics.trainingAccuracy, learningRate: Double(optimizer.learningRate),
                imagesPerSecond: Double(seen) / max(metrics.seconds, 1e-9),
                etaSeconds: Double(totalSteps - globalStep) * elapsed / Double(max(stepsThisRun, 1)), validation: report))
            if let checkpointDirectory {
                try Checkpoint.save(state, to: checkpointDirectory, spec: spec, datasetHash: datasetHash, plan: plan,
                                    optimizer: optimizer)
            }
            if stopReason == .timeLimit { break epochs }
            if spec.earlyStoppingPatience > 0 && state.staleEpochs >= spec.earlyStoppingPatience {
                stopReason = .earlyStopping
                break epochs
            }
        }

        // Best weights, final evaluation, model folder.
        if let best = state.bestWeights { try plan.restore(best) }
        let final = try validationInputs.map {
            try Evaluation.evaluate(graph: trainGraph, images: $0, classCount: classes.count,
                                    batchSize: max(spec.batchSize, 256), topK: min(spec.topK, classes.count),
                                    loss: evaluationLoss)
        }
        let result = FineTuneResult(
            modelDirectory: outputDirectory, labels: classes, validation: final, history: state.history,
            bestEpoch: state.bestEpoch, stopReason: stopReason, usedFeatureCache: cacheable,
            cacheBoundary: cacheable ? plan.boundary : nil, resumedFromEpoch: resumedFrom,
            trainableParameterCount: parameters.reduce(0) { $0 + $1.parameter.value.count },
            trainingImageCount: trainImages.count, validationImageCount: validationImages?.count ?? 0,
            datasetHash: datasetHash, seconds: Date().timeIntervalSince(started), sharedCoreSteps: sharedSteps)
        try writeModel(plan: plan, baseModel: baseModel, training: training, result: result)
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

    private func makeOptimizer() -> Optimizer {
        let rate = Float(spec.learningRate), decay = Float(spec.weightDecay)
        switch spec.optimizer {
        case .sgd: return SGD(learningRate: rate, momentum: Float(spec.momentum), nesterov: spec.momentum > 0, weightDecay: decay)
        case .adam: return Adam(learningRate: rate, weightDecay: decay)
        case .adamw: return AdamW(learningRate: rate, weightDecay: decay)
        }
    }

    /// The dataset as batches: decoded once into memory when it is small enough, otherwise streamed.
    static func images(_ dataset: Dataset, spec: ImageData.InputSpec, materializedLimit: Int) throws -> any ImageBatches {
        let bytes = dataset.count * spec.channels * spec.height * spec.width * MemoryLayout<Float>.stride
        return bytes <= materializedLimit ? try TensorImages(dataset: dataset, spec: spec)
            : StreamedImages(dataset: dataset, spec: spec)
    }

    /// The frozen prefix's output for every image, in inference mode, as the suffix's training inputs.
    static func features(_ prefix: Graph, _ images: any ImageBatches, batchSize: Int) throws -> TensorImages {
        var scalars: [Float] = []
        var shape: [Int] = []
        try images.forEachBatch(of: batchSize) { batch, _ in
            let output = try prefix.forward(batch, mode: .inference)
            shape = Array(output.shape.dropFirst())
            scalars += output.scalars
        }
        return TensorImages(shape: [images.count] + shape, scalars: scalars, labels: images.labels)
    }

    /// Every training image augmented once, streamed: image i of view v draws from a generator seeded by the
    /// run's seed, v and i, so a view is the same whichever batches ask for it.
    struct AugmentedView: ImageBatches {
        let dataset: Dataset
        let spec: ImageData.InputSpec
        let config: AugmentationConfig
        let seed: UInt64
        let view: Int

        var count: Int { dataset.count }
        var labels: [Int] { dataset.labels }

        func batch(_ indices: [Int]) throws -> (images: Tensor, labels: [Int]) {
            let options = spec.decodeOptions()
            let images = try indices.map { index in
                var generator = SeededGenerator(seed: seed ^ (0xA076_1D64_78BD_642F &* UInt64(view + 1))
                    ^ (0xE703_7ED1_A0B4_28DB &* UInt64(index + 1)))
                return spec.augment(try dataset.loadImage(at: index, options: options), config: config, using: &generator)
            }
            return (spec.batch(images), indices.map { dataset.labels[$0] })
        }
    }

    static func augmentedView(_ dataset: Dataset, spec: ImageData.InputSpec, config: AugmentationConfig, seed: UInt64,
                              view: Int) -> AugmentedView {
        AugmentedView(dataset: dataset, spec: spec, config: config, seed: seed, view: view)
    }

    /// The epoch's sample order: a Fisher–Yates shuffle seeded by the run's seed and the epoch only, so a
    /// resumed run walks the same batches.
    static func order(count: Int, seed: UInt64, epoch: Int) -> [Int] {
        var generator = SeededGenerator(seed: seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(epoch + 1))
        var order = Array(0..<count)
        DatasetSplit.shuffle(&order, using: &generator)
        return order
    }

    /// A 64-bit digest of the class names, labels, the input spec and every sample's source as stored (a file's
    /// bytes, or pixels already in memory): the same data gives the same hash, different data a different one.
    /// Reading the files costs a small fraction of decoding them, which the run does anyway.
    static func hash(classes: [String], sets: [Dataset], spec: ImageData.InputSpec) throws -> String {
        var digest = Digest64()
        for name in classes { digest.mix(Array(name.utf8)); digest.mix(0xff) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        digest.mix(Array(try encoder.encode(spec)))
        for set in sets {
            set.labels.forEach { digest.mix(UInt64($0)) }
            for sample in set.samples {
                switch sample.source {
                case .file(let url):
                    let bytes: Data
                    do { bytes = try Data(contentsOf: url, options: .mappedIfSafe) } catch {
                        throw ImageDataError.io(path: url.path, reason: (error as NSError).localizedDescription)
                    }
                    digest.mix(UInt64(bytes.count))
                    bytes.withUnsafeBytes { digest.mix($0) }
                case .pixels(let image):
                    digest.mix(UInt64(image.width)); digest.mix(UInt64(image.height)); digest.mix(UInt64(image.channels))
                    image.pixels.withUnsafeBytes { digest.mix($0) }
                }
            }
        }
        return String(format: "fnv1a64w:%016llx", digest.value)
    }

    /// FNV-1a over 64-bit words (bytes for the tail) with a final avalanche: a change detector, not a cryptographic
    /// hash, fast enough to read a dataset's files at memory speed.
    struct Digest64 {
        private var h: UInt64 = 0xcbf2_9ce4_8422_2325
        private static let prime: UInt64 = 0x100_0000_01b3

        mutating func mix(_ word: UInt64) { h = (h ^ word) &* Self.prime }

        mutating func mix(_ bytes: [UInt8]) { bytes.withUnsafeBytes { mix($0) } }

        mutating func mix(_ bytes: UnsafeRawBufferPointer) {
            let words = bytes.count / 8
            for index in 0..<words { mix(bytes.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self)) }
            for index in (words * 8)..<bytes.count { mix(UInt64(bytes[index]) | 0x100) }
        }

        /// The state run through a 64-bit finaliser (MurmurHash3's), so nearby inputs differ in every bit.
        var value: UInt64 {
            var x = h
            x ^= x >> 33; x &*= 0xff51_afd7_ed55_8ccd
            x ^= x >> 33; x &*= 0xc4ce_b9fe_1a85_ec53
            return x ^ (x >> 33)
        }
    }

    private func writeModel(plan: TrainingPlan, baseModel: ModelFolder, training: Dataset, result: FineTuneResult) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let specJSON = String(decoding: try encoder.encode(spec), as: UTF8.self)
        var provenance: [String: String] = [
            "base": base.standardizedFileURL.path, "dataset": training.identifier, "dataset_hash": result.datasetHash,
            "spec": specJSON, "created_by": "graft finetune", "best_epoch": "\(result.bestEpoch)",
            "stop_reason": result.stopReason.rawValue,
        ]
        if let recipe = baseModel.manifest.provenance["recipe"] { provenance["base_recipe"] = recipe }
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
        try ModelFolder(manifest: manifest, graph: plan.graph).save(to: outputDirectory)
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
