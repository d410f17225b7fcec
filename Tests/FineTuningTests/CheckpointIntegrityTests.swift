// Damaged, missing and legacy checkpoints, and runs whose loss stops being a number: each is noticed, said, and
// never trained on.
import Foundation
import NeuralNetwork
import Tensors
import Testing
@testable import FineTuning

@Suite struct CheckpointIntegrityTests {
    /// Runs `spec` with checkpoints in a new folder and cancels it after `steps` steps of the run that makes the
    /// model (8 steps an epoch here). A run that trains below the head first probes the head for all its epochs,
    /// without checkpoints: those steps come first.
    static func interrupted(_ spec: FineTuneSpec, base: URL, steps: Int) throws -> URL {
        let checkpoint = Fixture.temporaryDirectory("ck")
        let probeSteps = spec.freeze == .backbone ? 0 : spec.epochs * 8
        let steps = probeSteps + steps
        var checks = 0
        #expect(throws: FineTuneCancelled.self) {
            _ = try Fixture.run(spec, base: base, checkpoint: checkpoint, isCancelled: { checks += 1; return checks > steps })
        }
        return checkpoint
    }

    static func flipByte(in file: URL, fromEnd offset: Int) throws {
        var bytes = try Data(contentsOf: file)
        bytes[bytes.count - offset] ^= 0x5a
        try bytes.write(to: file)
    }

    /// A flipped byte in the newest checkpoint is detected; the run falls back to the previous epoch's checkpoint
    /// and, the runs being reproducible, still ends with exactly the weights of an uninterrupted run.
    @Test func aFlippedByteFallsBackToThePreviousCheckpoint() throws {
        let base = try Fixture.baseModel()
        var spec = Fixture.spec(epochs: 4)
        spec.freeze = .none
        let (_, reference) = try Fixture.run(spec, base: base, checkpoint: Fixture.temporaryDirectory("ck-ref"))
        let checkpoint = try Self.interrupted(spec, base: base, steps: 20)   // epochs 1 and 2 checkpointed
        #expect(CheckpointInspection(directory: checkpoint).resumesAfterEpoch == 2)
        for offset in [1, 999] {   // tensor bytes near the end, and some way in
            let newest = checkpoint.appendingPathComponent(Checkpoint.fileName)
            try Self.flipByte(in: newest, fromEnd: offset)
            let inspection = CheckpointInspection(directory: checkpoint)
            #expect(inspection.resumesAfterEpoch == 1, "offset \(offset)")
            #expect(inspection.problems.count == 1 && inspection.problems[0].contains("checksum does not match"),
                    "\(inspection.problems)")
            try Self.flipByte(in: newest, fromEnd: offset)   // undo, for the next offset
        }
        try Self.flipByte(in: checkpoint.appendingPathComponent(Checkpoint.fileName), fromEnd: 999)
        let (resumed, model) = try Fixture.run(spec, base: base, checkpoint: checkpoint)
        #expect(resumed.resumedFromEpoch == 1)
        for (key, value) in reference.graph.stateDict() {
            #expect(model.graph.stateDict()[key]?.scalars == value.scalars, "\(key) differs after the fallback")
        }
    }

    /// Damage in the header (metadata), a truncated file, and a file without a checksum are all refused.
    @Test func damagedHeadersTruncationAndMissingChecksumsAreRefused() throws {
        let base = try Fixture.baseModel()
        let spec = Fixture.spec(epochs: 4)
        let checkpoint = try Self.interrupted(spec, base: base, steps: 20)
        let newest = checkpoint.appendingPathComponent(Checkpoint.fileName)
        let original = try Data(contentsOf: newest)

        // A digit of the metadata: epochs_done 2 → 3 would skip an epoch unnoticed without the checksum.
        let text = String(decoding: original, as: UTF8.self)
        let edited = text.replacingOccurrences(of: #""epochs_done":"2""#, with: #""epochs_done":"3""#)
        #expect(edited != text)
        try Data(edited.utf8).write(to: newest)
        #expect(CheckpointInspection(directory: checkpoint).resumesAfterEpoch == 1)

        try original.prefix(original.count - 100).write(to: newest)
        let truncated = CheckpointInspection(directory: checkpoint)
        #expect(truncated.resumesAfterEpoch == 1 && truncated.problems.first?.contains("cannot be read") == true)

        // As a checkpoint written before checksums: nothing vouches for it.
        let (tensors, metadata) = try Safetensors.read(data: original)
        var legacy = metadata
        legacy[Checkpoint.checksumKey] = nil
        try Safetensors.write(tensors, metadata: legacy, to: newest)
        let unsigned = CheckpointInspection(directory: checkpoint)
        #expect(unsigned.resumesAfterEpoch == 1 && unsigned.problems.first?.contains("no checksum") == true)
    }

    /// No intact checkpoint at all (both damaged, or deleted): the run starts from scratch, and says so.
    @Test func noIntactCheckpointRestartsFromScratch() throws {
        let base = try Fixture.baseModel()
        let spec = Fixture.spec(epochs: 3)
        let checkpoint = try Self.interrupted(spec, base: base, steps: 20)
        try Self.flipByte(in: checkpoint.appendingPathComponent(Checkpoint.fileName), fromEnd: 3)
        try Self.flipByte(in: checkpoint.appendingPathComponent(Checkpoint.previousFileName), fromEnd: 3)
        let inspection = CheckpointInspection(directory: checkpoint)
        #expect(inspection.resumesAfterEpoch == nil && inspection.problems.count == 2)
        #expect(try Fixture.run(spec, base: base, checkpoint: checkpoint).0.resumedFromEpoch == 0)

        let deleted = try Self.interrupted(spec, base: base, steps: 20)
        for name in [Checkpoint.fileName, Checkpoint.previousFileName] {
            try FileManager.default.removeItem(at: deleted.appendingPathComponent(name))
        }
        #expect(CheckpointInspection(directory: deleted) == CheckpointInspection(directory: Fixture.temporaryDirectory("none")))
        #expect(CheckpointInspection(directory: deleted).resumesAfterEpoch == nil)
        #expect(try Fixture.run(spec, base: base, checkpoint: deleted).0.resumedFromEpoch == 0)
    }

    // MARK: - Divergence

    /// The fixture's base model with `conv2`'s weights multiplied by `scale` (finite: the model reader refuses
    /// NaN and infinite weights).
    static func alteredBase(scale: Float) throws -> URL {
        let folder = try Fixture.baseModel()
        let model = try ModelFolder.load(from: folder, context: ComputeContext(threads: 2))
        for (key, parameter) in model.graph.namedParameters() where key == "conv2.weight" {
            parameter.value.scalars = parameter.value.scalars.map { $0 * scale }
        }
        try ModelFolder(manifest: model.manifest, graph: model.graph).save(to: folder)
        return folder
    }

    /// Weights near Float32's largest overflow the frozen part, so the very first loss is NaN: the run stops at
    /// step 1 and blames the model or the data, not the learning rate.
    @Test func aLossThatIsNaNBeforeAnyUpdateBlamesTheModelOrData() throws {
        let base = try Self.alteredBase(scale: 1e38)
        var steps = 0
        do {
            _ = try Fixture.run(Fixture.spec(epochs: 3), base: base, progress: { if $0.kind == .step { steps += 1 } })
            Issue.record("a run with an infinite weight finished")
        } catch let error as FineTuneError {
            guard case .diverged(let epoch, let step, let loss, _, let afterUpdates) = error else {
                Issue.record("\(error)"); return
            }
            #expect(epoch == 1 && step == 1 && !loss.isFinite && !afterUpdates)
            #expect(error.field == nil && "\(error)".contains("base model's weights or the images overflow"), "\(error)")
        }
        #expect(steps == 0, "no step was reported after the loss went NaN")
    }

    /// SGD at the largest allowed rate with full weight decay multiplies the weights by 1 − 10·1 = −9 every step:
    /// within about 40 steps they overflow. The run stops at the first non-finite loss, names its step and blames
    /// the learning rate.
    @Test func aLossThatDivergesAfterUpdatesBlamesTheLearningRate() throws {
        let base = try Fixture.baseModel()
        var spec = Fixture.spec(epochs: 10)
        spec.optimizer = .sgd
        spec.momentum = 0
        spec.learningRate = 10
        spec.weightDecay = 1
        // The rising loss would stop the run a few epochs before it overflows; this test is about the overflow.
        spec.divergencePatience = 0
        var lastLoss = 0.0, steps = 0
        do {
            _ = try Fixture.run(spec, base: base, progress: { if $0.kind == .step { steps += 1; lastLoss = $0.loss } })
            Issue.record("the run did not diverge; last loss \(lastLoss) after \(steps) steps")
        } catch let error as FineTuneError {
            guard case .diverged(_, let step, _, let rate, let afterUpdates) = error else {
                Issue.record("\(error)"); return
            }
            #expect(afterUpdates && step == steps + 1 && rate == 10, "\(error)")
            #expect(lastLoss.isFinite, "every reported loss was finite")
            #expect(error.field == "learning_rate" && "\(error)".contains("learning rate 10.0 is most likely too high"))
        }
    }
}
