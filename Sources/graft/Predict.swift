import ArgumentParser
import FineTuning
import Foundation
import ImageData
import NeuralNetwork

/// `graft predict <model> <images…>`: the top-k labels and probabilities for each image; exits non-zero when an
/// image cannot be classified.
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Classify images with a model folder (top-k per image).")

    @Argument(help: "A model folder, or the name of a base model under Models/ (e.g. efficientnet-lite0).") var model: String
    @Argument(help: "JPEG or PNG files.") var images: [String]
    @Option(name: .customLong("top-k"), help: "How many labels to print per image.") var topK = 3

    func validate() throws {
        guard topK >= 1 else { throw ValidationError("--top-k must be at least 1") }
        guard !images.isEmpty else { throw ValidationError("give at least one image") }
    }

    func run() throws {
        let folder = try ModelFolder.load(from: try modelFolder(model))
        let spec = try folder.manifest.input.imageSpec()
        let labels = folder.manifest.labels
        var failures = 0
        for path in images {
            do {
                let image = try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: path), options: spec.decodeOptions())
                let logits = try folder.graph.forward(spec.tensor(image), mode: .inference)
                let probabilities = Metrics.softmax(logits.scalars)
                let ranked = Metrics.ranked(logits.scalars).prefix(topK)
                let text = ranked.map { index in
                    let label = index < labels.count ? labels[index] : "class \(index)"
                    return String(format: "%@ %.3f", label, probabilities[index])
                }
                print("\(path): \(text.joined(separator: ", "))")
            } catch {
                // the other images are still classified; the exit status tells a script that one was not
                failures += 1
                FileHandle.standardError.write(Data("\(path): error: \(error)\n".utf8))
            }
        }
        if failures > 0 {
            throw CommandError("\(failures) of \(images.count) image\(images.count == 1 ? "" : "s") could not be classified")
        }
    }
}
