import ArgumentParser
import Foundation
import NeuralNetwork
import Tensors

/// `graft export`: write a Graft model in a format other runtimes read.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Export a Graft model for other runtimes.", subcommands: [ONNX.self])

    struct ONNX: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "onnx",
            abstract: "Export a model as ONNX (opset 13, dynamic batch, logits output) for ONNX Runtime, OpenVINO, ….",
            discussion: """
                BatchNorm after a convolution is folded into it. The input is the normalised N×C×H×W tensor; the \
                input spec (size, resize policy, crop, mean, std), the labels and the head are in the file's \
                metadata (graft.input, graft.labels, graft.head).
                """)

        @Argument(help: "The model: a folder with model.json and weights.safetensors, or a base model's name.")
        var model: String
        @Option(help: "The .onnx file to write (refused if it exists, unless --force).") var out: String
        @Flag(help: "Replace an existing output file.") var force = false

        func validate() throws {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory) {
                if isDirectory.boolValue {
                    throw ValidationError("--out \(out) is a folder; give the path of the .onnx file")
                }
                if !force { throw ValidationError("\(out) exists; choose another --out or pass --force to replace it") }
            }
        }

        func run() throws {
            let folder = try modelFolder(model)
            let loaded = try ModelFolder.load(from: folder, context: ComputeContext(threads: 1))
            let url = URL(fileURLWithPath: out)
            let data = try ONNXExport.export(loaded)
            try data.write(to: url, options: .atomic)
            let manifest = loaded.manifest
            print("exported \(folder.path) to \(url.path) (\(data.count) bytes, ONNX opset \(ONNXExport.opset)): "
                + "input '\(ONNXExport.inputName)' N×\(manifest.input.channels)×\(manifest.input.height)×"
                + "\(manifest.input.width), output '\(ONNXExport.outputName)' N×\(manifest.labels.count)")
        }
    }
}
