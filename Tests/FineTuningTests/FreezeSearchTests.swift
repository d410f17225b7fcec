// `"freeze": "auto"`: stage boundaries found from graphs, the successive-halving schedule, a deterministic choice
// that a fixed rerun reproduces, and the guards that fail a run instead of letting it succeed silently.
import Foundation
import ImageData
import NeuralNetwork
import Tensors
import Testing
@testable import FineTuning

/// A small network with three resolutions (10², 5², 3²), so that it has two stage boundaries, on the 4-quadrant data
/// of ``Fixture`` (flattened, not pooled, at the end: the class is where the blob is).
enum StagedFixture {
    static let nodes: [NodeSpec] = [
        conv("conv1", 1, 8, stride: 1, input: "input"), NodeSpec(name: "relu1", op: "ReLU", inputs: ["conv1"]),
        conv("conv2", 8, 8, stride: 2, input: "relu1"), NodeSpec(name: "relu2", op: "ReLU", inputs: ["conv2"]),
        conv("conv3", 8, 8, stride: 2, input: "relu2"), NodeSpec(name: "relu3", op: "ReLU", inputs: ["conv3"]),
        NodeSpec(name: "flatten", op: "Flatten", inputs: ["relu3"]),
        NodeSpec(name: "fc", op: "Linear", attributes: ["in_features": .int(72), "out_features": .int(3)],
                 inputs: ["flatten"]),
    ]

    static func conv(_ name: String, _ input: Int, _ output: Int, stride: Int, input from: String) -> NodeSpec {
        NodeSpec(name: name, op: "Conv2d", attributes: [
            "in_channels": .int(input), "out_channels": .int(output), "kernel_size": .int(3), "padding": .int(1),
            "stride": .int(stride)], inputs: [from])
    }

    static func baseModel() throws -> URL {
        let graph = try Graph(nodes: nodes, output: "fc", seed: 3, context: ComputeContext(threads: 2))
        let manifest = ModelManifest(
            nodes: graph.nodes, input: .init(channels: 1, height: 10, width: 10, resize: .stretch, mean: [0.3], std: [0.3]),
            labels: ["a", "b", "c"], head: "fc")
        let folder = Fixture.temporaryDirectory("staged")
        try ModelFolder(manifest: manifest, graph: graph).save(to: folder)
        return folder
    }

    static func spec(epochs: Int = 6) -> FineTuneSpec {
        var spec = Fixture.spec(epochs: epochs)
        spec.freeze = .auto
        return spec
    }
}

@Suite struct FreezeCandidateTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func stagedGraphHasABoundaryAtEachResolutionChange() throws {
        let graph = try Graph(nodes: StagedFixture.nodes, output: "fc", context: ComputeContext(threads: 1))
        #expect(try FreezeCandidates.stageBoundaries(graph: graph, head: "fc", inputShape: [1, 1, 10, 10])
            == ["relu1", "relu2"])
        // A chain whose last resolution has nothing with weights above it but the head adds no candidate for it.
        let fixture = try Graph(nodes: Fixture.nodes, output: "fc", context: ComputeContext(threads: 1))
        #expect(try FreezeCandidates.policies(graph: fixture, head: "fc", inputShape: [1, 1, 10, 10]) == [.none])
    }

    @Test func resnet8StagesAreItsResidualStageOutputs() throws {
        let manifest = try ModelManifest.read(contentsOf: Self.repository.appendingPathComponent("Models/fmnist-resnet8/model.json"))
        // The skip connections make every node inside a block a non-cut; the stage outputs at 28² and 14² are left.
        #expect(try FreezeCandidates.policies(manifest: manifest)
            == [.until("layer2_relu2"), .until("layer1_relu2"), .none])
    }

    @Test func efficientNetLite0StagesAreItsResolutionGroups() throws {
        // The committed manifest names a labels file that set-up downloads; the graph is all this needs.
        let folder = Fixture.temporaryDirectory("lite0")
        try FileManager.default.copyItem(at: Self.repository.appendingPathComponent("Models/efficientnet-lite0/model.json"),
                                         to: folder.appendingPathComponent("model.json"))
        try (0..<1000).map { "class \($0)" }.joined(separator: "\n")
            .write(to: folder.appendingPathComponent("labels.txt"), atomically: true, encoding: .utf8)
        let manifest = try ModelManifest.read(contentsOf: folder.appendingPathComponent("model.json"))
        // Inverted-residual blocks end at their projection (or the residual Add); at 112², 56² and 28² the narrowest
        // cut is the last block before a stride-2 one, at 14² the end of the 80-channel stage before the 112-channel
        // one (the expansions of the blocks that downsample are cuts too, but wider).
        let policies = try FreezeCandidates.policies(manifest: manifest)
        #expect(policies == [.until("blocks7_add"), .until("blocks4_add"), .until("blocks2_add"), .until("blocks0_bn2"),
                             .none], "\(policies)")
    }

    @Test(arguments: [(1, 30), (2, 30), (3, 30), (5, 30), (5, 4), (9, 12)])
    func successiveHalvingStaysWithinItsBudget(candidates: Int, budget: Int) {
        let schedule = SuccessiveHalving(candidates: candidates, budgetEpochs: budget)
        #expect(schedule.survivors.first == candidates)
        for (a, b) in zip(schedule.survivors, schedule.survivors.dropFirst()) { #expect(b == (a + 1) / 2) }
        #expect(schedule.survivors.last! <= 2)
        // Every candidate trains one epoch at least, which may go beyond a budget smaller than the candidates.
        #expect(schedule.totalEpochs <= max(budget, candidates * schedule.rounds))
        #expect(schedule.epochs.allSatisfy { $0 >= 1 })
    }
}

@Suite struct FreezeSearchTests {
    @Test func autoChoosesDeterministicallyAndAFixedRerunReproducesIt() throws {
        let base = try StagedFixture.baseModel()
        let spec = StagedFixture.spec()
        let (a, modelA) = try Fixture.run(spec, base: base)
        let (b, modelB) = try Fixture.run(spec, base: base)
        let search = try #require(a.freezeSearch)
        #expect(search.candidates.map(\.policy) == [.backbone, .until("relu2"), .until("relu1"), .none])
        #expect(search.candidates.filter { $0.outcome == .chosen }.map(\.policy) == [search.chosen])
        #expect(search.chosen == a.freeze && search.chosen != .auto)
        #expect(search.spentEpochs <= search.budgetEpochs + search.candidates.count)
        #expect(search.candidates.allSatisfy { $0.outcome == .skipped || $0.validationAccuracy != nil })
        // Same seed, same threads: the same scores, the same choice and the same weights.
        #expect(b.freezeSearch?.candidates.map(\.validationLoss) == search.candidates.map(\.validationLoss))
        #expect(b.freeze == a.freeze)
        let weightsA = modelA.graph.stateDict(), weightsB = modelB.graph.stateDict()
        for (key, value) in weightsA { #expect(weightsB[key]?.scalars == value.scalars, "\(key) differs") }
        #expect(modelA.manifest.provenance["freeze"] == a.freeze.description)
        // The provenance's policy as a fixed freeze gives the same weights.
        var fixed = spec
        fixed.freeze = a.freeze
        let (c, modelC) = try Fixture.run(fixed, base: base)
        #expect(c.freezeSearch == nil)
        for (key, value) in weightsA {
            #expect(modelC.graph.stateDict()[key]?.scalars == value.scalars, "\(key) differs from the fixed rerun")
        }
    }

    @Test func progressCoversTheSearchAndTheRun() throws {
        let base = try StagedFixture.baseModel()
        var events: [FineTuneProgress] = []
        _ = try Fixture.run(StagedFixture.spec(epochs: 4), base: base, progress: { events.append($0) })
        let phases = events.map(\.phase)
        #expect(phases.first == .probe && phases.contains(.search))
        let steps = events.filter { $0.kind == .step }
        // One step count and total over all phases: the count only grows; the total is planned at the start and only
        // shrinks (when the full run goes on from its candidate's epochs), and the last step reaches it.
        #expect(zip(steps, steps.dropFirst()).allSatisfy { $0.globalStep < $1.globalStep })
        #expect(zip(steps, steps.dropFirst()).allSatisfy { $0.totalSteps >= $1.totalSteps })
        #expect(steps.last.map { $0.globalStep == $0.totalSteps } == true)
        #expect(events.contains { $0.kind == .search && $0.search?.chosen != .auto })
    }

    @Test func bodyTrainsAtAFractionOfTheHeadsRateAfterAWarmUp() throws {
        let base = try StagedFixture.baseModel()
        var spec = Fixture.spec(epochs: 3)
        spec.freeze = .until("relu2")
        var rates: [(FineTuneProgress.Phase, Double)] = []
        let (result, _) = try Fixture.run(spec, base: base, progress: { event in
            if event.kind == .step { rates.append((event.phase, event.learningRate)) }
        })
        // The probe trains the head alone at the full rate; the run rises from a third of it over its first epoch.
        #expect(rates.filter { $0.0 == .probe }.allSatisfy { abs($0.1 - 1e-2) < 1e-9 })
        let training = rates.filter { $0.0 == .training }.map(\.1)
        #expect(abs(training[0] - 1e-2 / 3) < 1e-6)
        #expect(zip(training, training.dropFirst()).allSatisfy { $0 <= $1 + 1e-12 })
        #expect(result.freeze == .until("relu2"))
        let plan = try TrainingPlan(base: try ModelFolder.load(from: base, context: ComputeContext(threads: 1)),
                                    classes: 4, spec: spec, context: ComputeContext(threads: 1))
        let scales = Dictionary(uniqueKeysWithValues: plan.graph.namedParameters().map {
            ($0.key, $0.parameter.learningRateScale) })
        #expect(scales["conv3.weight"] == Float(0.1) && scales["fc.weight"] == 1)
    }
}

@Suite struct RunGuardTests {
    @Test(arguments: [
        // (epoch training losses, patience, diverged?)
        ([1.0, 0.8, 0.9, 1.0, 1.5], 3, true),       // three rises, to 1.9× the lowest
        ([1.0, 0.8, 0.9, 1.0, 1.1], 3, false),      // rising, but not half as much again as the lowest
        ([0.02, 0.01, 0.011, 0.012, 0.02], 3, false), // near zero: more than 1.5× but not by 0.1
        ([1.0, 0.5, 2.0, 1.9, 3.0], 3, false),      // not rising every epoch
        ([1.0, 0.5, 2.0, 3.0], 2, true),
        ([1.0, 0.5, 2.0, 3.0], 0, false),           // never checked
    ] as [([Double], Int, Bool)])
    func lossRisingForPatienceEpochsIsDivergence(losses: [Double], patience: Int, diverged: Bool) {
        #expect((Trainer.divergence(losses: losses, patience: patience) != nil) == diverged)
    }

    @Test func aRunThatNeverBeatsTheMajorityClassFails() throws {
        // Every image is the same, so every prediction is one class; half of the labels are 'top-left'.
        let blank = ByteImage(width: 10, height: 10, channels: 1, pixels: [UInt8](repeating: 80, count: 100))
        let labels = (0..<80).map { $0 % 4 < 2 ? 0 : $0 % 4 - 1 }
        let data = Dataset(identifier: "blank", classNames: ["top-left", "top-right", "bottom-left"],
                           samples: labels.enumerated().map { Sample(label: $1, source: .pixels(blank), name: "b\($0)") })
        var spec = Fixture.spec(epochs: 3)
        spec.freeze = .backbone
        let run = FineTuneRun(base: try Fixture.baseModel(), dataset: .datasets(training: data, validation: nil),
                              spec: spec, outputDirectory: Fixture.temporaryDirectory("o"),
                              context: ComputeContext(threads: 2))
        #expect {
            _ = try run.run()
        } throws: { error in
            guard case .belowBaseline(let accuracy, let baseline, let majority)? = error as? FineTuneError else { return false }
            return accuracy <= baseline && baseline == 0.5 && majority == "top-left"
                && "\(error)".contains("never beat answering 'top-left'")
        }
    }

    @Test func autoDecodesAndIsTheDefault() throws {
        #expect(FineTuneSpec().freeze == .auto)
        let spec = try JSONDecoder().decode(FineTuneSpec.self, from: Data(#"{"freeze": "auto", "search_budget": 9}"#.utf8))
        #expect(spec.freeze == .auto && spec.searchBudget == 9)
        #expect(String(decoding: try JSONEncoder().encode(FreezePolicy.auto), as: UTF8.self) == #""auto""#)
        #expect(FreezePolicy(commandLine: "auto") == .auto)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(FineTuneSpec.self, from: Data(#"{"freeze": "Auto"}"#.utf8))
        }
        var invalid = FineTuneSpec()
        invalid.bodyLearningRateScale = 0
        #expect(throws: FineTuneError.invalidSpec(field: "body_learning_rate_scale",
                                                  message: "must be in (0, 1] (typical: 0.1), got 0.0")) {
            try invalid.validate()
        }
    }
}
