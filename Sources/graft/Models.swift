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

        @Argument(help: "A model folder, its model.json, or the name of a base model under Models/.") var path: String?
        @Option(help: "Describe a named architecture instead (no weights): \(Architectures.all.map(\.name).joined(separator: ", ")).")
        var arch: String?
        @Option(help: "With --arch: input height and width (default: the architecture's own).") var size: Int?
        @Option(help: "With --arch: the number of classes of the head (default 1000, 10 for lenet5 and cifar-convnet).")
        var classes: Int?

        func validate() throws {
            if (path == nil) == (arch == nil) { throw ValidationError("give either a model (folder or name) or --arch NAME") }
            if arch == nil && (size != nil || classes != nil) { throw ValidationError("--size and --classes go with --arch") }
        }

        func run() throws {
            guard let path else { return try describeArchitecture(arch!) }
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

        /// The per-layer table of a named architecture built for `--size` and `--classes` (random weights).
        func describeArchitecture(_ name: String) throws {
            let architecture: Architecture
            do { architecture = try Architectures.named(name) } catch let error as ModelError {
                throw CommandError("--arch: \(error.message)")
            }
            let side = size ?? architecture.input.height
            let count = classes ?? (architecture.input.channels == 1 || name == "cifar-convnet" ? 10 : 1000)
            let nodes: [NodeSpec]
            do { nodes = try architecture.nodes(size: side, classes: count) } catch let error as ModelError {
                throw CommandError("\(name) at \(side)×\(side): \(error.message)")
            }
            let channels = architecture.input.channels
            let graph = try Graph(nodes: nodes, output: architecture.head, inputShape: [1, channels, side, side],
                                  context: ComputeContext(threads: 1))
            print("Architecture: \(name): \(architecture.summary)")
            print("Input: \(channels)×\(side)×\(side); \(count) classes; head: \(architecture.head)")
            print("Weights: `graft import pytorch FILE --arch \(name)` reads \(architecture.stateDictSource)")
            print("")
            print(try graph.summary(inputShape: [1, channels, side, side]))
        }
    }
}
