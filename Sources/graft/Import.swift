import ArgumentParser
import Foundation
import NeuralNetwork

/// `graft import`: turn weights trained elsewhere into a Graft model folder (`model.json` + `weights.safetensors`).
struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Import weights trained elsewhere as a Graft model.", subcommands: [PyTorch.self])

    struct PyTorch: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pytorch",
            abstract: "Import a PyTorch state dict (.pth/.pt, legacy or zip; or a .safetensors state dict).")

        @Argument(help: "The checkpoint file.") var file: String
        @Option(help: "The architecture the state dict belongs to (supported: efficientnet-lite0).") var arch: String
        @Option(help: "A text file with one class name per line, in class-index order.") var labels: String?
        @Option(help: "The model folder to write.") var out: String

        func run() throws {
            guard arch == "efficientnet-lite0" else {
                throw ValidationError("unknown --arch '\(arch)' (supported: efficientnet-lite0)")
            }
            let url = URL(fileURLWithPath: file)
            let source = url.pathExtension == "safetensors"
                ? try Safetensors.read(contentsOf: url).tensors : try PyTorchCheckpoint.read(contentsOf: url)
            let tensors = try EfficientNetLite0.graftStateDict(fromPyTorch: source, file: url.path)
            let names: [String]
            if let labels {
                names = try ModelManifest.readLabels(contentsOf: URL(fileURLWithPath: labels))
            } else {
                names = (0..<1000).map { "class \($0)" }
            }
            guard names.count == 1000 else {
                throw ValidationError("\(labels ?? ""): \(names.count) labels, expected 1000 (ImageNet)")
            }
            let nodes = EfficientNetLite0.nodes(classes: names.count)
            let input = EfficientNetLite0.input
            let graph = try Graph(nodes: nodes, output: EfficientNetLite0.headNode,
                                  inputShape: [1, input.channels, input.height, input.width])
            try graph.load(stateDict: tensors, file: url.path)
            // The labels go to labels.txt beside the manifest: the manifest is committed, the names come from a
            // third-party list at set-up (scripts/fetch-efficientnet-lite0).
            let manifest = ModelManifest(nodes: nodes, input: input, labels: names, labelsFile: "labels.txt",
                                         head: EfficientNetLite0.headNode,
                                         provenance: ["base": "efficientnet-lite0", "imported_from": url.lastPathComponent,
                                                      "dataset": "ImageNet-1k",
                                                      "set_up_by": "scripts/fetch-efficientnet-lite0"])
            let folder = URL(fileURLWithPath: out)
            try ModelFolder(manifest: manifest, graph: graph).save(to: folder)
            print("imported \(source.count) tensors from \(url.path) into \(folder.path)")
        }
    }
}
