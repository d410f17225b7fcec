import ArgumentParser
import Foundation
import NeuralNetwork

/// `graft import`: turn weights trained elsewhere into a Graft model folder (`model.json` + `weights.safetensors`).
struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Import weights trained elsewhere as a Graft model.", subcommands: [PyTorch.self, ONNX.self])

    struct PyTorch: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pytorch",
            abstract: "Import a PyTorch state dict (.pth/.pt, legacy or zip; or a .safetensors state dict).")

        @Argument(help: "The checkpoint file.") var file: String
        @Option(help: "The architecture the state dict belongs to (see `graft models describe --arch`): \(Architectures.all.map(\.name).joined(separator: ", ")).")
        var arch: String
        @Option(help: "A text file with one class name per line, in class-index order.") var labels: String?
        @Option(help: "Input height and width, where the architecture allows another than its own (e.g. 64 for resnet18).")
        var size: Int?
        @Option(help: "The model folder to write.") var out: String

        func run() throws {
            let architecture: Architecture
            do { architecture = try Architectures.named(arch) } catch let error as ModelError {
                throw CommandError("--arch: \(error.message)")
            }
            let url = URL(fileURLWithPath: file)
            let names = try labels.map { try ModelManifest.readLabels(contentsOf: URL(fileURLWithPath: $0)) }
            let folder = URL(fileURLWithPath: out)
            if arch == "efficientnet-lite0" {
                // its labels live in labels.txt beside the manifest, as scripts/fetch-efficientnet-lite0 sets it up
                if size != nil { throw ValidationError("--size: efficientnet-lite0 is built for 224×224 only") }
                let (model, tensorCount) = try EfficientNetLite0.importModel(checkpoint: url, labels: names)
                try model.save(to: folder)
                print("imported \(tensorCount) tensors from \(url.path) into \(folder.path)")
                return
            }
            let (model, summary) = try architecture.importModel(checkpoint: url, labels: names, size: size)
            try model.save(to: folder)
            print("imported \(summary.tensorCount) tensors from \(url.path) as \(arch) (\(summary.classes) classes) "
                + "into \(folder.path)")
            for note in summary.notes { print("note: \(note)") }
        }
    }

    struct ONNX: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "onnx",
            abstract: "Import an ONNX image classifier (any opset 7–18 CNN of the supported operators) as a base model.",
            discussion: """
                ONNX has no field for the input spec. A file Graft exported carries it (and the labels) in its \
                metadata, and those are used; otherwise the defaults are torchvision's evaluation transform (shorter \
                side resized, centre crop 0.875, ImageNet mean and std). A flag overrides either. The file's SHA-256 \
                is recorded as provenance.
                """)

        @Argument(help: "The .onnx file (external data files, if any, beside it).") var file: String
        @Option(help: "A text file with one class name per line, in output order (default: the file's graft.labels, else class 0 … class n-1).")
        var labels: String?
        @Option(help: "The model folder to write (refused if it exists, unless --force).") var out: String
        @Option(help: "Input height and width when the file leaves them symbolic (default 224).") var size: Int?
        @Option(help: "Per-channel mean of components in 0…1, comma-separated (default 0.485,0.456,0.406).") var mean: String?
        @Option(help: "Per-channel standard deviation, comma-separated (default 0.229,0.224,0.225).") var std: String?
        @Option(help: "shorter_side_then_center_crop, stretch or none (default shorter_side_then_center_crop).")
        var resize: String?
        @Option(help: "The centred part of the resized region that is kept, in (0, 1] (default 0.875).") var cropFraction: Double?
        @Flag(help: "Replace an existing output folder.") var force = false

        func run() throws {
            let url = URL(fileURLWithPath: file)
            let folder = URL(fileURLWithPath: out)
            if FileManager.default.fileExists(atPath: folder.path) && !force {
                throw ValidationError("\(folder.path) exists; choose another --out or pass --force to replace it")
            }
            func floats(_ text: String, _ name: String) throws -> [Float] {
                let values = text.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
                guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else {
                    throw ValidationError("--\(name) must be comma-separated numbers, got '\(text)'")
                }
                return values.map { $0! }
            }
            let policy = try resize.map { name in
                guard let policy = ResizePolicy(name: name) else {
                    throw ValidationError("--resize must be shorter_side_then_center_crop, stretch or none, got '\(name)'")
                }
                return policy
            }
            if let cropFraction, !(cropFraction > 0 && cropFraction <= 1) {
                throw ValidationError("--crop-fraction must be in (0, 1], got \(cropFraction)")
            }
            let names = try labels.map { try ModelManifest.readLabels(contentsOf: URL(fileURLWithPath: $0)) }
            let options = ONNXImport.Options(labels: names, size: size, mean: try mean.map { try floats($0, "mean") },
                                             std: try std.map { try floats($0, "std") },
                                             resize: policy, cropFraction: cropFraction, name: folder.lastPathComponent)
            let (model, summary) = try ONNXImport.importModel(contentsOf: url, options: options)
            if force { try? FileManager.default.removeItem(at: folder) }
            try model.save(to: folder)
            print("imported \(url.path) (opset \(summary.opset), \(summary.onnxNodes) ONNX nodes, \(summary.foldedConstants) "
                + "constants folded) as \(summary.graftNodes) Graft nodes into \(folder.path)")
            for note in summary.notes { print("note: \(note)") }
            print("head: \(model.manifest.head) (\(model.manifest.labels.count) classes); "
                + "describe it with: graft models describe \(folder.path)")
        }
    }
}
