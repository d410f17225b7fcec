/// The phases of one fine-tuning run between loading its data and writing its model: inputs and feature cache,
/// resume, the steps of an epoch, the epoch's evaluation and best-weights choice, and the final evaluation.
import Foundation
import ImageData
import NeuralNetwork
import Tensors

/// A run's images prepared once — decoded (or streamed) training and validation sets and their digest — for every
/// trainer of the run (the linear probe, each candidate of the freeze search, the full run) to share.
struct PreparedImages {
    let training: any ImageBatches
    let validation: (any ImageBatches)?
    let datasetHash: String

    init(run: FineTuneRun, imageSpec: InputSpec, training: Dataset, validation: Dataset?) throws {
        self.training = try TrainingInputs.images(training, spec: imageSpec, materializedLimit: run.materializedLimit)
        self.validation = try validation.map {
            try TrainingInputs.images($0, spec: imageSpec, materializedLimit: run.materializedLimit)
        }
        datasetHash = try TrainingInputs.hash(classes: training.classNames,
                                              sets: [training] + (validation.map { [$0] } ?? []), spec: imageSpec)
    }
}

/// Trains a `TrainingPlan` on a run's data; `FineTuneRun.run` calls its phases in order (``fit(progress:isCancelled:)``
/// runs phases 3 and 4 for every epoch).
final class Trainer {
    /// The run this trainer serves; a freeze-search candidate chosen for the full run is extended to its spec
    /// (``FreezeSearch``).
    var run: FineTuneRun
    let plan: TrainingPlan
    let training: Dataset
    var spec: FineTuneSpec { run.spec }
    /// The base model's input: how raw images are prepared.
    let imageSpec: InputSpec
    let classCount: Int
    let datasetHash: String

    // MARK: Inputs (phase 1)

    /// Whether the frozen prefix runs once per image (feature cache) rather than every step.
    let cacheable: Bool
    let trainImages: any ImageBatches
    let validationImages: (any ImageBatches)?
    /// What the trained graph takes: the images, or the frozen prefix's output for each (one set per augmented view).
    private var trainInputs: any ImageBatches
    private var views: [TensorImages] = []
    let validationInputs: (any ImageBatches)?
    /// The graph the steps run: the whole plan, or its suffix above the cached features.
    let trainGraph: Graph
    let step: TrainingStep
    let stepsPerEpoch: Int
    var totalSteps: Int { stepsPerEpoch * spec.epochs }
    private let schedule: LearningRateSchedule

    // MARK: Progress

    var state = RunState()
    var stopReason = StopReason.completed
    private(set) var globalStep = 0
    private(set) var sharedCoreSteps = 0
    /// When the steps stop (after the step that reaches it) and the epoch ends the run: the spec's time limit, or
    /// the share of it a search phase may spend.
    var deadline: Date?
    private let runStart = Date()
    private var stepsThisRun = 0
    private var laneChanged = Date.distantPast

    /// Phase 1: takes the run's prepared images and, when nothing below the cut trains and the images never change,
    /// runs the frozen prefix once per image (or once per augmented view) so that the steps train the suffix only —
    /// unless the cut's features would take more memory than the images they replace and the run's materialised
    /// limit (an early cut of a 224² network: 112²×32 floats an image).
    init(run: FineTuneRun, plan: TrainingPlan, imageSpec: InputSpec, training: Dataset, images: PreparedImages,
         deadline: Date?) throws {
        self.run = run
        self.plan = plan
        self.imageSpec = imageSpec
        self.training = training
        self.deadline = deadline
        let spec = run.spec
        classCount = training.classNames.count
        trainImages = images.training
        validationImages = images.validation
        datasetHash = images.datasetHash
        var cacheable = spec.featureCache && plan.prefix != nil && (!spec.augmentation.enabled || spec.augmentedViews > 0)
        if cacheable, let prefix = plan.prefix {
            let imageElements = imageSpec.channels * imageSpec.height * imageSpec.width
            let featureElements = try prefix.shapes(for: [1, imageSpec.channels, imageSpec.height, imageSpec.width])[
                prefix.outputIndex].dropFirst().reduce(1, *)
            let views = spec.augmentation.enabled ? max(spec.augmentedViews, 1) : 1
            let bytes = (trainImages.count * views + (validationImages?.count ?? 0)) * featureElements * 4
            cacheable = featureElements <= imageElements || bytes <= run.materializedLimit
        }
        self.cacheable = cacheable
        trainInputs = trainImages
        var validationInputs = validationImages
        var graph = plan.graph
        if cacheable, let prefix = plan.prefix, let suffix = plan.suffix {
            if spec.augmentation.enabled {
                views = try (0..<spec.augmentedViews).map { view in
                    try TrainingInputs.features(prefix, TrainingInputs.AugmentedView(
                        dataset: training, spec: imageSpec, config: spec.augmentation, seed: spec.seed, view: view),
                                                batchSize: 256)
                }
            } else {
                trainInputs = try TrainingInputs.features(prefix, trainImages, batchSize: 256)
            }
            validationInputs = try validationImages.map { try TrainingInputs.features(prefix, $0, batchSize: 256) }
            graph = suffix
        }
        self.validationInputs = validationInputs
        trainGraph = graph
        let weights: [Float]? = spec.classWeighting == .balanced ? training.classCounts.map {
            Float(Double(training.count) / (Double(training.classNames.count) * Double($0)))
        } : nil
        step = TrainingStep(graph: graph, loss: SoftmaxCrossEntropy(labelSmoothing: Float(spec.labelSmoothing),
                                                                    classWeights: weights),
                            optimizer: Self.optimizer(for: spec))
        stepsPerEpoch = (trainImages.count + spec.batchSize - 1) / spec.batchSize
        // A pretrained body starts training gently: the rate rises over the first epochs (Goyal et al., "Accurate,
        // Large Minibatch SGD", 2017), so that the first steps of a fresh head cannot wreck the features.
        let warmup = plan.trainsBody ? spec.warmupEpochs * stepsPerEpoch : 0
        let rate = Float(spec.learningRate)
        switch (spec.schedule, warmup > 0) {
        case (.cosine, true): schedule = WarmupSchedule(warmupSteps: warmup, then: CosineSchedule(learningRate: rate))
        case (.cosine, false): schedule = CosineSchedule(learningRate: rate)
        case (.constant, true): schedule = WarmupSchedule(warmupSteps: warmup, then: ConstantSchedule(learningRate: rate))
        case (.constant, false): schedule = ConstantSchedule(learningRate: rate)
        }
    }

    static func optimizer(for spec: FineTuneSpec) -> Optimizer {
        let rate = Float(spec.learningRate), decay = Float(spec.weightDecay)
        switch spec.optimizer {
        case .sgd: return SGD(learningRate: rate, momentum: Float(spec.momentum), nesterov: spec.momentum > 0, weightDecay: decay)
        case .adam: return Adam(learningRate: rate, weightDecay: decay)
        case .adamw: return AdamW(learningRate: rate, weightDecay: decay)
        }
    }

    // MARK: Resume (phase 2)

    /// Loads the checkpoint in `directory` when one of this run is there; returns the epochs it had done.
    func resume(from directory: URL?) throws -> Int {
        if let directory {
            state = try Checkpoint.load(from: directory, spec: spec, datasetHash: datasetHash, plan: plan,
                                        optimizer: step.optimizer, parameters: step.parameters) ?? state
        }
        globalStep = state.epochsDone * stepsPerEpoch
        return state.epochsDone
    }

    // MARK: Steps (phase 3)

    /// Runs the steps of `epoch` (0-based); returns the epoch's training loss sum, correct count and images seen.
    /// Stops early, after the step that reached it, at the spec's time limit (`stopReason` says so).
    func trainEpoch(_ epoch: Int, progress: (FineTuneProgress) -> Void, isCancelled: () -> Bool) throws
        -> (lossSum: Double, correct: Int, seen: Int, seconds: Double)
    {
        let epochStart = Date()
        var lossSum = 0.0, correct = 0, seen = 0
        if !views.isEmpty { trainInputs = views[epoch % views.count] }
        let loader = spec.augmentation.enabled && !cacheable ? BatchLoader(
            dataset: training, indices: Array(0..<training.count), spec: imageSpec,
            options: BatchLoaderOptions(batchSize: spec.batchSize, shuffles: true, seed: spec.seed, epoch: epoch,
                                        augmentation: spec.augmentation, workers: max(1, run.context.threads))) : nil
        let order = TrainingInputs.order(count: trainInputs.count, seed: spec.seed, epoch: epoch)
        for stepIndex in 0..<stepsPerEpoch {
            if isCancelled() { throw FineTuneCancelled(epoch: epoch + 1, step: stepIndex + 1) }
            chooseLane()
            let inputs: Tensor, labels: [Int]
            if let loader {
                guard let batch = try loader.next() else { break }
                (inputs, labels) = (batch.images, batch.labels)
            } else {
                let indices = Array(order[(stepIndex * spec.batchSize)..<min(order.count, (stepIndex + 1) * spec.batchSize)])
                (inputs, labels) = try trainInputs.batch(indices)
            }
            let rate = schedule.learningRate(atStep: globalStep, totalSteps: totalSteps)
            let value: Float, logits: Tensor
            do {
                (value, logits) = try step(inputs, labels: labels, learningRate: rate)
            } catch let error as TrainingStep.NonFiniteLoss {
                throw FineTuneError.diverged(epoch: epoch + 1, step: globalStep + 1, loss: Double(error.loss),
                                             learningRate: Double(rate), afterUpdates: stepsThisRun > 0)
            }
            globalStep += 1
            stepsThisRun += 1
            lossSum += Double(value) * Double(labels.count)
            correct += ClassScores.correctCount(logits: logits, labels: labels)
            seen += labels.count
            let elapsed = Date().timeIntervalSince(runStart)
            let speed = Double(stepsThisRun) / max(elapsed, 1e-9)
            progress(FineTuneProgress(
                kind: .step, epoch: epoch + 1, epochs: spec.epochs, step: stepIndex + 1, stepsPerEpoch: stepsPerEpoch,
                globalStep: globalStep, totalSteps: totalSteps, loss: lossSum / Double(seen),
                accuracy: Double(correct) / Double(seen), learningRate: Double(rate),
                imagesPerSecond: Double(seen) / max(Date().timeIntervalSince(epochStart), 1e-9),
                etaSeconds: Double(totalSteps - globalStep) / speed, validation: nil))
            if let deadline, Date() >= deadline { stopReason = .timeLimit }
            if stopReason == .timeLimit && stepIndex + 1 < stepsPerEpoch { break }
        }
        return (lossSum, correct, seen, Date().timeIntervalSince(epochStart))
    }

    /// Moves the steps to the run's shared lane while it is asked to yield a core, and back; lane changes recompile
    /// the plans, so they are `laneHoldSeconds` apart at least.
    private func chooseLane() {
        guard let sharedContext = run.sharedContext else { return }
        let lane = run.yieldsCore() ? sharedContext : run.context
        if lane !== trainGraph.context, Date().timeIntervalSince(laneChanged) >= run.laneHoldSeconds {
            trainGraph.use(lane)
            laneChanged = Date()
        }
        if trainGraph.context === sharedContext { sharedCoreSteps += 1 }
    }

    // MARK: Epoch end (phase 4)

    /// Evaluates the epoch on the validation set, keeps the weights when its loss is the lowest so far, writes the
    /// checkpoint, and says whether the run stops here (time limit or early stopping).
    func endEpoch(_ epoch: Int, training: (lossSum: Double, correct: Int, seen: Int, seconds: Double),
                  progress: (FineTuneProgress) -> Void) throws -> Bool {
        let report = try evaluate()
        let seen = training.seen
        let metrics = EpochMetrics(
            epoch: epoch + 1, trainingLoss: seen == 0 ? 0 : training.lossSum / Double(seen),
            trainingAccuracy: seen == 0 ? 0 : Double(training.correct) / Double(seen), validationLoss: report?.loss,
            validationAccuracy: report?.accuracy, seconds: training.seconds)
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
            accuracy: metrics.trainingAccuracy, learningRate: Double(step.optimizer.learningRate),
            imagesPerSecond: Double(seen) / max(metrics.seconds, 1e-9),
            etaSeconds: Double(totalSteps - globalStep) * elapsed / Double(max(stepsThisRun, 1)), validation: report))
        if let directory = run.checkpointDirectory {
            try Checkpoint.save(state, to: directory, spec: spec, datasetHash: datasetHash, plan: plan,
                                optimizer: step.optimizer)
        }
        try checkDivergence()
        if stopReason == .timeLimit { return true }
        if spec.earlyStoppingPatience > 0 && state.staleEpochs >= spec.earlyStoppingPatience {
            stopReason = .earlyStopping
            return true
        }
        return false
    }

    /// Throws when the epoch training losses so far show divergence (``divergence(losses:patience:)``).
    private func checkDivergence() throws {
        if let error = Self.divergence(losses: state.history.map(\.trainingLoss), patience: spec.divergencePatience) {
            throw error
        }
    }

    /// ``FineTuneError/lossRising(epoch:epochs:loss:lowest:)`` when the epoch training loss rose `patience` epochs in
    /// a row and now stands well above its lowest (half as much again, and by 0.1 at least): noise near convergence
    /// rises too, but not that far. Nil otherwise, and always for a patience of 0.
    static func divergence(losses: [Double], patience: Int) -> FineTuneError? {
        guard patience > 0, losses.count > patience else { return nil }
        let recent = losses.suffix(patience + 1)
        let rising = zip(recent, recent.dropFirst()).allSatisfy { $0 < $1 }
        let lowest = losses.min()!, last = losses.last!
        guard rising && last > 1.5 * lowest && last - lowest > 0.1 else { return nil }
        return .lossRising(epoch: losses.count, epochs: patience, loss: last, lowest: lowest)
    }

    /// Phases 3 and 4 for every epoch from `first` (0-based) until the spec's epochs, the deadline or early stopping.
    func fit(from first: Int, progress: (FineTuneProgress) -> Void, isCancelled: () -> Bool) throws {
        for epoch in first..<spec.epochs {
            let steps = try trainEpoch(epoch, progress: progress, isCancelled: isCancelled)
            if try endEpoch(epoch, training: steps, progress: progress) { break }
        }
    }

    /// The best validation accuracy of any epoch against always answering the validation set's most common class;
    /// throws ``FineTuneError/belowBaseline(accuracy:baseline:majorityClass:)`` when it never beat it. A run cut
    /// short by `time_limit_seconds` keeps what it has (its `stop_reason` says why it is short).
    func checkBaseline() throws {
        guard stopReason != .timeLimit, let validation = validationImages, validation.count > 0 else { return }
        var counts = [Int](repeating: 0, count: classCount)
        validation.labels.forEach { counts[$0] += 1 }
        let majority = counts.indices.max { counts[$0] < counts[$1] }!
        let baseline = Double(counts[majority]) / Double(validation.count)
        let best = state.history.compactMap(\.validationAccuracy).max() ?? 0
        if best <= baseline {
            throw FineTuneError.belowBaseline(accuracy: best, baseline: baseline,
                                              majorityClass: training.classNames[majority])
        }
    }

    /// The trained graph on the validation set, in inference mode; nil without one.
    func evaluate() throws -> EvaluationReport? {
        try validationInputs.map {
            try Evaluation.evaluate(graph: trainGraph, images: $0, classCount: classCount,
                                    batchSize: max(spec.batchSize, 256), topK: min(spec.topK, classCount),
                                    loss: SoftmaxCrossEntropy())
        }
    }

    // MARK: Final evaluation (phase 5)

    /// Puts the best epoch's weights back and evaluates them.
    func restoreBest() throws -> EvaluationReport? {
        if let best = state.bestWeights { try plan.restore(best) }
        return try evaluate()
    }
}
