/// Per-epoch checkpoints of a run (`checkpoint.safetensors`): trained weights, best-epoch weights, optimizer
/// state and the run's counters, so that a later run with the same spec and data continues where it stopped.
import Foundation
import NeuralNetwork
import Tensors

enum Checkpoint {
    static let fileName = "checkpoint.safetensors"

    /// Tensors `model.<key>` (current), `best.<key>` (best epoch), `optimizer.<name>`; counters, history, spec
    /// and dataset hash in the metadata. Written to a temporary file, then renamed (never half a checkpoint).
    static func save(_ state: RunState, to directory: URL, spec: FineTuneSpec, datasetHash: String, plan: TrainingPlan,
                     optimizer: Optimizer) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var tensors: [String: Tensor] = [:]
        for (key, value) in plan.trainedState() { tensors["model." + key] = value }
        for (key, value) in state.bestWeights ?? [:] { tensors["best." + key] = value }
        for (key, value) in optimizer.state() { tensors["optimizer." + key] = value }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let metadata = [
            "spec": String(decoding: try encoder.encode(spec), as: UTF8.self),
            "dataset_hash": datasetHash,
            "epochs_done": "\(state.epochsDone)", "best_epoch": "\(state.bestEpoch)",
            "best_loss": "\(state.bestLoss)", "stale_epochs": "\(state.staleEpochs)",
            "history": String(decoding: try encoder.encode(state.history), as: UTF8.self),
        ]
        let temporary = directory.appendingPathComponent(fileName + ".partial")
        try Safetensors.write(tensors, metadata: metadata, to: temporary)
        let target = directory.appendingPathComponent(fileName)
        guard rename(temporary.path, target.path) == 0 else {
            throw FineTuneError.checkpoint(message: "cannot move \(temporary.path) to \(target.path) (errno \(errno))")
        }
    }

    /// Loads the checkpoint in `directory` into the plan and optimizer; nil when there is none. A checkpoint of
    /// another spec or other data is an error (resuming it would silently mix two runs).
    static func load(from directory: URL, spec: FineTuneSpec, datasetHash: String, plan: TrainingPlan,
                     optimizer: Optimizer, parameters: [(key: String, parameter: Parameter)]) throws -> RunState? {
        let url = directory.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let (tensors, metadata) = try Safetensors.read(contentsOf: url)
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
}
