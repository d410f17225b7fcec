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
            let names = try labels.map { try ModelManifest.readLabels(contentsOf: URL(fileURLWithPath: $0)) }
            let (model, tensorCount) = try EfficientNetLite0.importModel(checkpoint: url, labels: names)
            let folder = URL(fileURLWithPath: out)
            try model.save(to: folder)
            print("imported \(tensorCount) tensors from \(url.path) into \(folder.path)")
        }
    }
}
