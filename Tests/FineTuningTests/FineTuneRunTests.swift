// Fine-tuning runs on a small generated dataset: accuracy, freezing, feature cache, cancellation, resume,
// reproducibility and spec errors.
import Foundation
import ImageData
import NeuralNetwork
import Tensors
import Testing
@testable import FineTuning

/// A tiny base model and a generated 4-class dataset: 10×10 grey images, the class is the quadrant that holds
/// a bright 3×3 blob on noise.
enum Fixture {
    static let nodes: [NodeSpec] = [
        NodeSpec(name: "conv1", op: "Conv2d", attributes: ["in_channels": .int(1), "out_channels": .int(8),
                                                          "kernel_size": .int(3), "padding": .int(1)], inputs: ["input"]),
        NodeSpec(name: "bn1", op: "BatchNorm2d", attributes: ["num_features": .int(8)], inputs: ["conv1"]),
        NodeSpec(name: "relu1", op: "ReLU", inputs: ["bn1"]),
        NodeSpec(name: "conv2", op: "Conv2d", attributes: ["in_channels": .int(8), "out_channels": .int(8),
                                                          "kernel_size": .int(3), "padding": .int(1)], inputs: ["relu1"]),
        NodeSpec(name: "relu2", op: "ReLU", inputs: ["conv2"]),
        NodeSpec(name: "pool", op: "AvgPool2d", attributes: ["kernel_size": .int(5)], inputs: ["relu2"]),
        NodeSpec(name: "flatten", op: "Flatten", inputs: ["pool"]),
        NodeSpec(name: "fc", op: "Linear", attributes: ["in_features": .int(32), "out_features": .int(3)], inputs: ["flatten"]),
    ]

    /// Writes the base model (random weights from a seed, non-trivial BN statistics) into a new temporary folder.
    static func baseModel() throws -> URL {
        let graph = try Graph(nodes: nodes, output: "fc", seed: 11, context: ComputeContext(threads: 2))
        for (key, parameter) in graph.namedParameters() where key.hasPrefix("bn1.running") {
            parameter.value.scalars = parameter.value.scalars.indices.map { key.hasSuffix("mean") ? 0.05 * Float($0) : 1 + 0.1 * Float($0) }
        }
        let manifest = ModelManifest(
            nodes: graph.nodes, input: .init(channels: 1, height: 10, width: 10, resize: .stretch, mean: [0.3], std: [0.3]),
            labels: ["a", "b", "c"], head: "fc")
        let folder = temporaryDirectory("base")
        try ModelFolder(manifest: manifest, graph: graph).save(to: folder)
        return folder
    }

    static func dataset(count: Int, seed: UInt64, classes: Int = 4) -> Dataset {
        var generator = SeededGenerator(seed: seed)
        var samples: [Sample] = []
        for n in 0..<count {
            let label = n % classes
            var pixels = (0..<100).map { _ in UInt8(min(255, max(0, 60 + generator.nextGaussian() * 25))) }
            let top = (label / 2) * 5 + Int(generator.next() % 3), left = (label % 2) * 5 + Int(generator.next() % 3)
            for dy in 0..<3 { for dx in 0..<3 { pixels[(top + dy) * 10 + left + dx] = 230 } }
            samples.append(Sample(label: label, source: .pixels(ByteImage(width: 10, height: 10, channels: 1, pixels: pixels)),
                                  name: "gen[\(n)]"))
        }
        return Dataset(identifier: "generated:\(seed)", classNames: ["top-left", "top-right", "bottom-left", "bottom-right"].prefix(classes).map { $0 },
                       samples: samples)
    }

    static func temporaryDirectory(_ name: String) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("graft-ft-\(name)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func spec(epochs: Int = 8, seed: UInt64 = 1) -> FineTuneSpec {
        var spec = FineTuneSpec()
        spec.epochs = epochs
        spec.batchSize = 16
        spec.learningRate = 1e-2
        spec.validationFraction = 0.25
        spec.seed = seed
        // The mechanics tested here are those of one trainer; `FreezeSearchTests` covers the default, `auto`.
        spec.freeze = .backbone
        return spec
    }

    static func run(_ spec: FineTuneSpec, base: URL, checkpoint: URL? = nil, count: Int = 160, datasetSeed: UInt64 = 5,
                    materializedLimit: Int = 512 << 20,
                    progress: (FineTuneProgress) -> Void = { _ in }, isCancelled: () -> Bool = { false }) throws
        -> (FineTuneResult, ModelFolder)
    {
        let output = temporaryDirectory("out")
        var run = FineTuneRun(base: base, dataset: .datasets(training: dataset(count: count, seed: datasetSeed), validation: nil),
                              spec: spec, outputDirectory: output, checkpointDirectory: checkpoint,
                              context: ComputeContext(threads: 2))
        run.materializedLimit = materializedLimit
        let result = try run.run(progress: progress, isCancelled: isCancelled)
        return (result, try ModelFolder.load(from: output, context: ComputeContext(threads: 2)))
    }
}

@Suite struct FineTuneRunTests {
    @Test func frozenBackboneReachesHighAccuracyAndStaysBitIdentical() throws {
        let base = try Fixture.baseModel()
        let (result, model) = try Fixture.run(Fixture.spec(epochs: 12), base: base)
        let accuracy = try #require(result.validation?.accuracy)
        #expect(accuracy >= 0.9, "validation accuracy \(accuracy)")
        #expect(result.usedFeatureCache && result.cacheBoundary == "flatten")
        #expect(model.manifest.labels == ["top-left", "top-right", "bottom-left", "bottom-right"])
        #expect(model.manifest.provenance["dataset_hash"] == result.datasetHash)
        #expect(model.manifest.metrics["validation_accuracy"] == accuracy)
        let before = try ModelFolder.load(from: base, context: ComputeContext(threads: 1)).graph.stateDict()
        let after = model.graph.stateDict()
        for (key, value) in before where !key.hasPrefix("fc.") {
            #expect(after[key]?.scalars == value.scalars, "\(key) changed although it is frozen")
        }
        #expect(after["fc.weight"]?.shape == [4, 32])
        // The saved model predicts what the run evaluated.
        let confusion = try #require(result.validation?.confusion)
        #expect(confusion.joined().reduce(0, +) == result.validationImageCount)
    }

    @Test func featureCacheMatchesRecomputing() throws {
        let base = try Fixture.baseModel()
        var spec = Fixture.spec(epochs: 3)
        let (cached, a) = try Fixture.run(spec, base: base)
        spec.featureCache = false
        let (recomputed, b) = try Fixture.run(spec, base: base)
        #expect(cached.usedFeatureCache && !recomputed.usedFeatureCache)
        let wa = a.graph.stateDict()["fc.weight"]!.scalars, wb = b.graph.stateDict()["fc.weight"]!.scalars
        let difference = zip(wa, wb).map { abs($0 - $1) }.max()!
        #expect(difference <= 1e-5, "head weights differ by \(difference)")
        #expect(abs(cached.validation!.loss - recomputed.validation!.loss) < 1e-5)
    }

    @Test func cacheWorksAtAnInnerBoundary() throws {
        let base = try Fixture.baseModel()
        var spec = Fixture.spec(epochs: 2)
        spec.freeze = .until("bn1")
        let (cached, a) = try Fixture.run(spec, base: base)
        #expect(cached.cacheBoundary == "relu1")  // the parameter-free ReLU after bn1 is frozen too
        spec.featureCache = false
        let (_, b) = try Fixture.run(spec, base: base)
        for key in ["conv2.weight", "fc.weight"] {
            let difference = zip(a.graph.stateDict()[key]!.scalars, b.graph.stateDict()[key]!.scalars).map { abs($0 - $1) }.max()!
            #expect(difference <= 1e-5, "\(key) differs by \(difference)")
        }
        let before = try ModelFolder.load(from: base, context: ComputeContext(threads: 1)).graph.stateDict()
        #expect(a.graph.stateDict()["conv1.weight"]!.scalars == before["conv1.weight"]!.scalars)
        #expect(a.graph.stateDict()["bn1.running_mean"]!.scalars == before["bn1.running_mean"]!.scalars)
        #expect(a.graph.stateDict()["conv2.weight"]!.scalars != before["conv2.weight"]!.scalars)
    }

    @Test func cancelStopsBeforeTheNextStep() throws {
        let base = try Fixture.baseModel()
        var steps = 0, checks = 0
        #expect(throws: FineTuneCancelled.self) {
            _ = try Fixture.run(Fixture.spec(epochs: 5), base: base, progress: { if $0.kind == .step { steps += 1 } },
                                isCancelled: { checks += 1; return checks > 7 })
        }
        #expect(steps == 7)
    }

    @Test func resumeFromCheckpointMatchesUninterruptedRun() throws {
        let base = try Fixture.baseModel()
        var spec = Fixture.spec(epochs: 4)
        spec.freeze = .none  // every weight, BatchNorm statistics and Adam moments go through the checkpoint
        let (whole, reference) = try Fixture.run(spec, base: base, checkpoint: Fixture.temporaryDirectory("ck1"))
        let checkpoint = Fixture.temporaryDirectory("ck2")
        var checks = 0
        #expect(throws: FineTuneCancelled.self) {
            // The linear probe's 4 × 8 steps come first (without checkpoints), then 20 of the fine-tune's.
            _ = try Fixture.run(spec, base: base, checkpoint: checkpoint, isCancelled: { checks += 1; return checks > 32 + 20 })
        }
        let (resumed, model) = try Fixture.run(spec, base: base, checkpoint: checkpoint)
        #expect(resumed.resumedFromEpoch == 2)
        #expect(resumed.history == whole.history.enumerated().map { i, m in
            var copy = m; copy.seconds = resumed.history[i].seconds; return copy })
        for (key, value) in reference.graph.stateDict() {
            #expect(model.graph.stateDict()[key]?.scalars == value.scalars, "\(key) differs after resuming")
        }
    }

    @Test func aCheckpointOfOtherDataIsRefused() throws {
        let base = try Fixture.baseModel()
        let spec = Fixture.spec(epochs: 4)
        let checkpoint = Fixture.temporaryDirectory("ck3")
        var checks = 0
        #expect(throws: FineTuneCancelled.self) {
            _ = try Fixture.run(spec, base: base, checkpoint: checkpoint, isCancelled: { checks += 1; return checks > 20 })
        }
        #expect {
            _ = try Fixture.run(spec, base: base, checkpoint: checkpoint, datasetSeed: 6)
        } throws: { error in
            "\(error)".contains("another spec or dataset")
        }
        #expect(try Fixture.run(spec, base: base, checkpoint: checkpoint).0.resumedFromEpoch == 2)
    }

    /// The resume check's digest reads what is stored (file bytes, in-memory pixels) and changes with any of it.
    @Test func datasetHashFollowsTheStoredData() throws {
        let folder = Fixture.temporaryDirectory("hash")
        var generator = SeededGenerator(seed: 3)
        let files = try (0..<6).map { n -> URL in
            let url = folder.appendingPathComponent("\(n).bin")
            try Data((0..<(1000 + n * 37)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }).write(to: url)
            return url
        }
        func dataset(labels: [Int] = [0, 1, 0, 1, 0, 1]) -> Dataset {
            Dataset(identifier: "files", classNames: ["a", "b"], samples: zip(files, labels).map {
                Sample(label: $1, source: .file($0), name: $0.lastPathComponent)
            })
        }
        let spec = InputSpec(channels: 3, height: 8, width: 8, mean: [0, 0, 0], std: [1, 1, 1])
        func hash(_ set: Dataset, classes: [String] = ["a", "b"], spec: InputSpec = spec) throws -> String {
            try TrainingInputs.hash(classes: classes, sets: [set], spec: spec)
        }
        let reference = try hash(dataset())
        #expect(try hash(dataset()) == reference)
        #expect(try hash(dataset(labels: [1, 0, 0, 1, 0, 1])) != reference)
        #expect(try hash(dataset(), classes: ["a", "c"]) != reference)
        #expect(try hash(dataset(), spec: InputSpec(channels: 3, height: 9, width: 8, mean: [0, 0, 0], std: [1, 1, 1])) != reference)
        var bytes = try Data(contentsOf: files[4])
        bytes[bytes.count - 1] ^= 1  // the last byte, in the digest's byte-wise tail
        try bytes.write(to: files[4])
        let tail = try hash(dataset())
        bytes[8] ^= 1  // a byte inside a word
        try bytes.write(to: files[4])
        #expect(Set([reference, tail, try hash(dataset())]).count == 3)
        try FileManager.default.removeItem(at: files[2])
        #expect(throws: ImageDataError.self) { try hash(dataset()) }

        let pixels = Fixture.dataset(count: 8, seed: 1)
        var changed = pixels
        if case .pixels(var image) = changed.samples[7].source {
            image.pixels[99] &+= 1
            changed.samples[7].source = .pixels(image)
        }
        #expect(try hash(pixels) == hash(Fixture.dataset(count: 8, seed: 1)))
        #expect(try hash(changed) != hash(pixels))
    }

    /// A run that gives up a core whenever asked still trains; lane changes keep their hold time, and the steps
    /// run on the shared lane are counted.
    @Test func yieldingACoreKeepsTraining() throws {
        let base = try Fixture.baseModel()
        var spec = Fixture.spec(epochs: 6)
        spec.freeze = .none
        func run(hold: Double, yields: @escaping () -> Bool) throws -> FineTuneResult {
            var run = FineTuneRun(base: base, dataset: .datasets(training: Fixture.dataset(count: 160, seed: 5), validation: nil),
                                  spec: spec, outputDirectory: Fixture.temporaryDirectory("out"),
                                  context: ComputeContext(threads: 2))
            run.sharedContext = ComputeContext(threads: 1)
            run.laneHoldSeconds = hold
            run.yieldsCore = yields
            return try run.run()
        }
        let always = try run(hold: 0) { true }
        // The linear probe trains as many epochs first (below the head trains: LP-FT), on the same lanes.
        let steps = 2 * always.history.count * ((always.trainingImageCount + 15) / 16)
        #expect(always.sharedCoreSteps == steps)
        var asked = 0
        let alternating = try run(hold: 0) { asked += 1; return asked % 2 == 0 }
        #expect(alternating.sharedCoreSteps == steps / 2)
        let held = try run(hold: 3600) { true }
        #expect(held.sharedCoreSteps == steps, "the first change is not held back")
        let never = try run(hold: 0) { false }
        #expect(never.sharedCoreSteps == 0)
        // the same training up to the last bits: the same accuracy within a few images of the 40 held out
        let reference = try #require(never.validation?.accuracy)
        #expect(reference >= 0.5, "well above the 0.25 of chance: \(reference)")
        for result in [always, alternating] {
            #expect(abs((result.validation?.accuracy ?? 0) - reference) <= 0.1, "\(result.validation?.accuracy ?? 0) vs \(reference)")
        }
        asked = 0
        let alternatingHeld = try run(hold: 3600) { asked += 1; return asked % 2 == 0 }
        // Each phase (probe, fine-tune) compiles its plans on the wide lane: its first step runs wide, then held.
        #expect(alternatingHeld.sharedCoreSteps == steps - 2, "one change a phase, then held: only first steps ran wide")
    }

    @Test func sameSeedSameWeights() throws {
        let base = try Fixture.baseModel()
        var spec = Fixture.spec(epochs: 2)
        spec.freeze = .trainableLayers(2)
        let (_, a) = try Fixture.run(spec, base: base)
        let (_, b) = try Fixture.run(spec, base: base)
        spec.seed = 2
        let (_, c) = try Fixture.run(spec, base: base)
        for (key, value) in a.graph.stateDict() {
            #expect(b.graph.stateDict()[key]?.scalars == value.scalars, "\(key) differs between two runs")
        }
        #expect(a.graph.stateDict()["fc.weight"]!.scalars != c.graph.stateDict()["fc.weight"]!.scalars)
    }

    @Test func augmentationRecomputesTheFrozenPart() throws {
        let base = try Fixture.baseModel()
        var spec = Fixture.spec(epochs: 2)
        spec.augmentation = AugmentationConfig(enabled: true, minimumCropScale: 0.9, maximumRotationDegrees: 0)
        var steps = 0
        let (result, _) = try Fixture.run(spec, base: base, progress: { if $0.kind == .step { steps += 1 } })
        #expect(!result.usedFeatureCache && result.cacheBoundary == nil)
        #expect(steps == 2 * ((result.trainingImageCount + 15) / 16))
        #expect(result.history.count == 2)
    }

    /// Sets too large for memory stream batch by batch, with the very same training as when held in memory.
    @Test func streamedImagesTrainExactlyLikeMaterializedOnes() throws {
        let base = try Fixture.baseModel()
        for featureCache in [true, false] {
            var spec = Fixture.spec(epochs: 3)
            spec.featureCache = featureCache
            let (inMemory, a) = try Fixture.run(spec, base: base)
            let (streamed, b) = try Fixture.run(spec, base: base, materializedLimit: 0)
            #expect(a.graph.stateDict() == b.graph.stateDict(), "feature cache \(featureCache)")
            #expect(inMemory.validation == streamed.validation && inMemory.datasetHash == streamed.datasetHash)
        }
    }

    @Test func augmentedViewsAreCachedAndReproducible() throws {
        let base = try Fixture.baseModel()
        var spec = Fixture.spec(epochs: 6)
        // no flips: the classes are left/right positions, which a mirror swaps
        spec.augmentation = AugmentationConfig(enabled: true, minimumCropScale: 0.9, horizontalFlipProbability: 0,
                                               maximumRotationDegrees: 0)
        spec.augmentedViews = 2
        let (result, a) = try Fixture.run(spec, base: base)
        #expect(result.usedFeatureCache && result.cacheBoundary == "flatten")
        #expect(result.validation!.accuracy >= 0.8, "accuracy \(result.validation!.accuracy)")
        let (_, b) = try Fixture.run(spec, base: base)
        #expect(a.graph.stateDict()["fc.weight"]!.scalars == b.graph.stateDict()["fc.weight"]!.scalars)
        spec.augmentedViews = 0
        let (recomputed, _) = try Fixture.run(spec, base: base)
        #expect(!recomputed.usedFeatureCache)
    }

    @Test func timeLimitStopsAfterTheCurrentStepAndKeepsAModel() throws {
        let base = try Fixture.baseModel()
        var spec = Fixture.spec(epochs: 5)
        spec.timeLimitSeconds = 1e-9
        var steps = 0
        let (result, model) = try Fixture.run(spec, base: base, progress: { if $0.kind == .step { steps += 1 } })
        #expect(result.stopReason == .timeLimit && steps == 1 && result.history.count == 1)
        #expect(model.manifest.provenance["stop_reason"] == "time_limit")
    }

    @Test func earlyStoppingEndsAfterPatienceEpochsWithoutImprovement() throws {
        // Half the validation images of each class carry the wrong label (quadrant + 1), so the better the head
        // learns the training set, the worse the validation loss gets: an early epoch stays best (the right half
        // still beats answering one class, as every run must).
        let training = Fixture.dataset(count: 120, seed: 5)
        let shifted = Fixture.dataset(count: 40, seed: 6)
        let validation = Dataset(identifier: "shifted", classNames: shifted.classNames,
                                 samples: shifted.samples.enumerated().map { index, sample in
            var sample = sample; if (index / 4) % 2 == 0 { sample.label = (sample.label + 1) % 4 }; return sample })
        var spec = Fixture.spec(epochs: 40)
        spec.earlyStoppingPatience = 2
        let run = FineTuneRun(base: try Fixture.baseModel(), dataset: .datasets(training: training, validation: validation),
                              spec: spec, outputDirectory: Fixture.temporaryDirectory("es"), context: ComputeContext(threads: 2))
        let result = try run.run()
        #expect(result.stopReason == .earlyStopping)
        #expect(result.history.count == result.bestEpoch + 2)
        let best = result.history[result.bestEpoch - 1].validationLoss!
        #expect(result.history.allSatisfy { $0.validationLoss! >= best })
        #expect(abs(result.validation!.loss - best) < 1e-9, "the kept weights are the best epoch's")
    }

    @Test func mlpHeadTrains() throws {
        let base = try Fixture.baseModel()
        var spec = Fixture.spec(epochs: 10)
        spec.head = .mlp
        spec.headHidden = 16
        let (result, model) = try Fixture.run(spec, base: base)
        #expect(model.graph.nodes.map(\.name).suffix(4) == ["fc_hidden", "fc_relu", "fc_dropout", "fc"])
        #expect(result.validation!.accuracy >= 0.85, "accuracy \(result.validation!.accuracy)")
    }
}

@Suite struct FineTuneSpecTests {
    static func field(of spec: FineTuneSpec) throws -> String? {
        do {
            _ = try Fixture.run(spec, base: try Fixture.baseModel(), count: 40)
        } catch let error as FineTuneError {
            return error.field
        }
        return nil
    }

    @Test(arguments: [
        ("epochs", { @Sendable (s: inout FineTuneSpec) in s.epochs = 0 }),
        ("batch_size", { @Sendable (s: inout FineTuneSpec) in s.batchSize = 0 }),
        ("learning_rate", { @Sendable (s: inout FineTuneSpec) in s.learningRate = 0 }),
        ("learning_rate", { @Sendable (s: inout FineTuneSpec) in s.learningRate = -1 }),
        ("freeze.until", { @Sendable (s: inout FineTuneSpec) in s.freeze = .until("no_such_node") }),
        ("freeze.until", { @Sendable (s: inout FineTuneSpec) in s.freeze = .until("fc") }),
        ("freeze.trainable_layers", { @Sendable (s: inout FineTuneSpec) in s.freeze = .trainableLayers(0) }),
        ("validation_fraction", { @Sendable (s: inout FineTuneSpec) in s.validationFraction = 1 }),
        ("label_smoothing", { @Sendable (s: inout FineTuneSpec) in s.labelSmoothing = 1.5 }),
        ("augmented_views", { @Sendable (s: inout FineTuneSpec) in s.augmentedViews = -1 }),
    ] as [(String, @Sendable (inout FineTuneSpec) -> Void)])
    func impossibleSpecsNameTheField(field: String, change: @Sendable (inout FineTuneSpec) -> Void) throws {
        var spec = Fixture.spec()
        change(&spec)
        #expect(try Self.field(of: spec) == field)
    }

    @Test func unknownResizePolicyInTheBaseModelIsAnError() throws {
        let base = try Fixture.baseModel()
        let manifestURL = base.appendingPathComponent("model.json")
        let text = try String(contentsOf: manifestURL, encoding: .utf8)
        #expect(text.contains("\"resize\" : \"stretch\""))
        try text.replacingOccurrences(of: "\"resize\" : \"stretch\"", with: "\"resize\" : \"squash\"")
            .write(to: manifestURL, atomically: true, encoding: .utf8)
        let run = FineTuneRun(base: base, dataset: .datasets(training: Fixture.dataset(count: 30, seed: 1), validation: nil),
                              spec: Fixture.spec(), outputDirectory: Fixture.temporaryDirectory("o"))
        #expect {
            _ = try run.run()
        } throws: { error in
            "\(error)".contains("unknown resize policy 'squash'") && "\(error)".contains("shorter_side_then_center_crop")
        }
    }

    @Test func classWithoutImagesIsAnError() throws {
        let data = Fixture.dataset(count: 30, seed: 1, classes: 3)
        let withEmpty = Dataset(identifier: "x", classNames: data.classNames + ["empty"], samples: data.samples)
        let run = FineTuneRun(base: try Fixture.baseModel(), dataset: .datasets(training: withEmpty, validation: nil),
                              spec: Fixture.spec(), outputDirectory: Fixture.temporaryDirectory("o"))
        do {
            _ = try run.run()
            Issue.record("a class without images was accepted")
        } catch let error as FineTuneError {
            #expect(error.field == "dataset")
            #expect(error.description.contains("'empty'"))
        }
    }

    @Test func jsonUsesSnakeCaseAndDefaults() throws {
        let json = #"{"epochs": 3, "batch_size": 8, "freeze": {"until": "layer2_relu2"}, "learning_rate": 0.5}"#
        let spec = try JSONDecoder().decode(FineTuneSpec.self, from: Data(json.utf8))
        #expect(spec.epochs == 3 && spec.batchSize == 8 && spec.learningRate == 0.5)
        #expect(spec.freeze == .until("layer2_relu2"))
        #expect(spec.optimizer == .adam && spec.validationFraction == 0.2)
        let again = try JSONDecoder().decode(FineTuneSpec.self, from: try JSONEncoder().encode(spec))
        #expect(again == spec)
        for freeze in [FreezePolicy.backbone, .none, .trainableLayers(2)] {
            #expect(try JSONDecoder().decode(FreezePolicy.self, from: try JSONEncoder().encode(freeze)) == freeze)
        }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(FineTuneSpec.self, from: Data(#"{"freeze": "everything"}"#.utf8))
        }
    }
}

@Suite struct EvaluationTests {
    @Test func metricsFromKnownPredictions() throws {
        // 3 classes; an identity "model" (Flatten) turns each input into its logits.
        let graph = try Graph(nodes: [NodeSpec(name: "flatten", op: "Flatten", inputs: ["input"])],
                              context: ComputeContext(threads: 1))
        // labels and predicted argmax: (0→0), (0→1), (1→1), (2→1), (2→2), (2→0 with 2 second)
        let rows: [[Float]] = [[3, 1, 0], [1, 3, 0], [0, 3, 1], [0, 3, 1], [0, 1, 3], [3, 0, 2]]
        let images = TensorImages(shape: [6, 3, 1, 1], scalars: rows.flatMap { $0 }, labels: [0, 0, 1, 2, 2, 2])
        let report = try Evaluation.evaluate(graph: graph, images: images, classCount: 3, batchSize: 4, topK: 2)
        #expect(report.confusion == [[1, 1, 0], [0, 1, 0], [1, 1, 1]])
        #expect(report.accuracy == 3.0 / 6.0)
        #expect(report.topKAccuracy == 1)  // every label is first or second in its row
        #expect(abs(report.perClass[1].precision - 1.0 / 3.0) < 1e-12 && report.perClass[1].recall == 1)
        #expect(abs(report.perClass[1].f1 - 0.5) < 1e-12)
        #expect(report.perClass[2].precision == 1 && abs(report.perClass[2].recall - 1.0 / 3.0) < 1e-12)
        // mean cross-entropy computed directly
        var expected = 0.0
        for (row, label) in zip(rows, [0, 0, 1, 2, 2, 2]) {
            let logSum = log(row.map { exp(Double($0)) }.reduce(0, +))
            expected += logSum - Double(row[label])
        }
        #expect(abs(report.loss - expected / 6) < 1e-5)
    }
}
