import ArgumentParser
import Foundation
import NeuralNetwork

/// `graft models`: inspect model folders (`model.json` + `weights.safetensors`).
struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect models.", subcommands: [Describe.self])

    struct Describe: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a model's input spec, labels and a per-node summary (output shape, parameters, MACs).")

        @Argument(help: "A model folder, its model.json, or the name of a base model under Models/.") var path: String

        func run() throws {
            let url = try modelFolder(path).appendingPathComponent("model.json")
            let manifest = try ModelManifest.read(contentsOf: url)
            let graph = try Graph(nodes: manifest.nodes, output: manifest.head, context: ComputeContext(threads: 1))
            let weights = url.deletingLastPathComponent().appendingPathComponent(ModelFolder.weightsName)
            let weightsStatus: String
            if FileManager.default.fileExists(atPath: weights.path) {
                try graph.load(stateDict: try Safetensors.read(contentsOf: weights).tensors, file: weights.path)
                weightsStatus = "\(weights.lastPathComponent): every tensor present with the graph's shapes"
            } else {
                weightsStatus = "\(weights.lastPathComponent): missing (graph only)"
            }
            let input = manifest.input
            print("Model: \(url.deletingLastPathComponent().path)")
            print("Input: \(input.channels)×\(input.height)×\(input.width), resize \(input.resize), mean \(input.mean), std \(input.std)")
            let shown = manifest.labels.prefix(20).joined(separator: ", ")
            let more = manifest.labels.count > 20 ? ", … (\(manifest.labels.count - 20) more)" : ""
            print("Labels (\(manifest.labels.count)): \(shown)\(more)")
            print("Head: \(manifest.head)")
            print("Weights: \(weightsStatus)")
            for (key, value) in manifest.provenance.sorted(by: { $0.key < $1.key }) { print("Provenance \(key): \(value)") }
            for (key, value) in manifest.metrics.sorted(by: { $0.key < $1.key }) { print("Metric \(key): \(value)") }
            print("")
            print(try graph.summary(inputShape: manifest.inputShape(batch: 1)))
        }
    }
}
