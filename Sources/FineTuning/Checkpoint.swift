/// Per-epoch checkpoints of a run (`checkpoint.safetensors`, and the one before it): trained weights, best-epoch
/// weights, optimizer state and the run's counters under a checksum, so that a later run with the same spec and
/// data continues where it stopped, and a damaged file is noticed instead of training on garbage.
import Foundation
import NeuralNetwork
import Tensors

enum Checkpoint {
    static let fileName = "checkpoint.safetensors"
    /// The checkpoint of the epoch before: what a run falls back to when the newest one is damaged.
    static let previousFileName = "checkpoint.previous.safetensors"
    /// Metadata key of the CRC-32 over every other metadata entry and every tensor.
    static let checksumKey = "checksum"

    /// Tensors `model.<key>` (current), `best.<key>` (best epoch), `optimizer.<name>`; counters, history, spec,
    /// dataset hash and the checksum in the metadata. Written to a temporary file, then renamed (never half a
    /// checkpoint); the checkpoint it replaces is kept as the previous one.
    static func save(_ state: RunState, to directory: URL, spec: FineTuneSpec, datasetHash: String, plan: TrainingPlan,
                     optimizer: Optimizer) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var tensors: [String: Tensor] = [:]
        for (key, value) in plan.trainedState() { tensors["model." + key] = value }
        for (key, value) in state.bestWeights ?? [:] { tensors["best." + key] = value }
        for (key, value) in optimizer.state() { tensors["optimizer." + key] = value }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var metadata = [
            "spec": String(decoding: try encoder.encode(spec), as: UTF8.self),
            "dataset_hash": datasetHash,
            "epochs_done": "\(state.epochsDone)", "best_epoch": "\(state.bestEpoch)",
            "best_loss": "\(state.bestLoss)", "stale_epochs": "\(state.staleEpochs)",
            "history": String(decoding: try encoder.encode(state.history), as: UTF8.self),
        ]
        metadata[checksumKey] = checksum(tensors: tensors, metadata: metadata)
        let temporary = directory.appendingPathComponent(fileName + ".partial")
        try Safetensors.write(tensors, metadata: metadata, to: temporary)
        let target = directory.appendingPathComponent(fileName)
        let previous = directory.appendingPathComponent(previousFileName)
        if FileManager.default.fileExists(atPath: target.path), rename(target.path, previous.path) != 0 {
            throw FineTuneError.checkpoint(message: "cannot move \(target.path) to \(previous.path) (errno \(errno))")
        }
        guard rename(temporary.path, target.path) == 0 else {
            throw FineTuneError.checkpoint(message: "cannot move \(temporary.path) to \(target.path) (errno \(errno))")
        }
    }

    /// Loads the newest intact checkpoint in `directory` into the plan and optimizer — the newest one, or the
    /// previous one when the newest is damaged — or nil when neither is intact (the run starts from scratch;
    /// ``inspect(_:)`` says why). An intact checkpoint of another spec or other data is an error (resuming it
    /// would silently mix two runs).
    static func load(from directory: URL, spec: FineTuneSpec, datasetHash: String, plan: TrainingPlan,
                     optimizer: Optimizer, parameters: [(key: String, parameter: Parameter)]) throws -> RunState? {
        for name in [fileName, previousFileName] {
            let url = directory.appendingPathComponent(name)
            guard case .intact(let tensors, let metadata) = verified(url) else { continue }
            return try restore(tensors: tensors, metadata: metadata, url: url, spec: spec, datasetHash: datasetHash,
                               plan: plan, optimizer: optimizer, parameters: parameters)
        }
        return nil
    }

    private static func restore(tensors: [String: Tensor], metadata: [String: String], url: URL, spec: FineTuneSpec,
                                datasetHash: String, plan: TrainingPlan, optimizer: Optimizer,
                                parameters: [(key: String, parameter: Parameter)]) throws -> RunState {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let specJSON = String(decoding: try encoder.encode(spec), as: UTF8.self)
        guard metadata["spec"] == specJSON, metadata["dataset_hash"] == datasetHash else {
            throw FineTuneError.checkpoint(message:
                "\(url.path) belongs to a run with another spec or dataset; delete it or use another checkpoint directory")
        }
        func number(_ key: String) throws -> Int {
            guard let text = metadata[key], let value = Int(text) else {
                throw FineTuneError.checkpoint(message: "\(url.path): metadata '\(key)' is missing or not a number")
            }
            return value
        }
        var state = RunState()
        state.epochsDone = try number("epochs_done")
        state.bestEpoch = try number("best_epoch")
        state.staleEpochs = try number("stale_epochs")
        state.bestLoss = Double(metadata["best_loss"] ?? "") ?? .infinity
        state.history = try JSONDecoder().decode([EpochMetrics].self, from: Data((metadata["history"] ?? "[]").utf8))
        func stripped(_ prefix: String) -> [String: Tensor] {
            Dictionary(uniqueKeysWithValues: tensors.filter { $0.key.hasPrefix(prefix) }
                .map { (String($0.key.dropFirst(prefix.count)), $0.value) })
        }
        let current = stripped("model."), best = stripped("best.")
        let expected = Set(plan.trainedState().keys)
        guard Set(current.keys) == expected else {
            throw FineTuneError.checkpoint(message: "\(url.path): trained tensors do not match the plan's trainable nodes")
        }
        try plan.restore(current)
        state.bestWeights = best.isEmpty ? nil : best
        do {
            try optimizer.loadState(stripped("optimizer."), parameters: parameters)
        } catch {
            throw FineTuneError.checkpoint(message: "\(url.path): \(error)")
        }
        return state
    }

    // MARK: - Integrity

    enum Verification {
        case missing
        case damaged(reason: String)
        case intact(tensors: [String: Tensor], metadata: [String: String])
    }

    /// Reads `url` and checks its checksum (a file written before checkpoints carried one counts as damaged:
    /// nothing vouches for it).
    static func verified(_ url: URL) -> Verification {
        guard FileManager.default.fileExists(atPath: url.path) else { return .missing }
        let tensors: [String: Tensor], metadata: [String: String]
        do {
            (tensors, metadata) = try Safetensors.read(contentsOf: url)
        } catch {
            return .damaged(reason: "it cannot be read (\(error))")
        }
        guard let stored = metadata[checksumKey] else { return .damaged(reason: "it carries no checksum") }
        var rest = metadata
        rest[checksumKey] = nil
        let computed = checksum(tensors: tensors, metadata: rest)
        guard stored == computed else {
            return .damaged(reason: "its checksum does not match (stored \(stored), computed \(computed))")
        }
        return .intact(tensors: tensors, metadata: metadata)
    }

    /// CRC-32 (the zlib polynomial) over the metadata entries and the tensors — names, shapes and Float32 bytes —
    /// in sorted order, as `crc32:xxxxxxxx`. It catches flipped and truncated bytes, not deliberate forgery.
    static func checksum(tensors: [String: Tensor], metadata: [String: String]) -> String {
        var crc = CRC32()
        for key in metadata.keys.sorted() {
            crc.update(Array("\(key)=\(metadata[key]!)\u{0}".utf8))
        }
        for name in tensors.keys.sorted() {
            let tensor = tensors[name]!
            crc.update(Array("\(name)\(tensor.shape)\u{0}".utf8))
            crc.update(tensor.scalars)
        }
        return String(format: "crc32:%08x", crc.value)
    }
}

/// What a checkpoint folder offers a run that is about to start, read without loading anything into a model: for
/// the service to tell the truth in its events ("resuming after epoch 3" or "restarting from scratch because…").
public struct CheckpointInspection: Sendable, Equatable {
    /// Epochs the checkpoint the run will resume from had finished; nil when the run starts from scratch.
    public var resumesAfterEpoch: Int?
    /// Why a checkpoint was passed over (damaged, no checksum), newest first; empty when none was.
    public var problems: [String]

    /// Checks `checkpoint.safetensors` and the previous one in `directory` as ``FineTuneRun`` will.
    public init(directory: URL) {
        problems = []
        resumesAfterEpoch = nil
        for name in [Checkpoint.fileName, Checkpoint.previousFileName] {
            let url = directory.appendingPathComponent(name)
            switch Checkpoint.verified(url) {
            case .missing:
                continue
            case .damaged(let reason):
                problems.append("\(url.lastPathComponent) is damaged: \(reason)")
            case .intact(_, let metadata):
                resumesAfterEpoch = Int(metadata["epochs_done"] ?? "") ?? 0
                return
            }
        }
    }
}
