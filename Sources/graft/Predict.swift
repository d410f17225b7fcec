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
        let classifier = try Classifier(folder: try modelFolder(model), batchSizes: [1])
        var failures = 0
        for path in images {
            do {
                let image = try Classifier.prepare(contentsOf: URL(fileURLWithPath: path), spec: classifier.spec)
                let prediction = try classifier.classify([image], topK: topK)[0]
                let text = prediction.candidates.map { String(format: "%@ %.3f", $0.label, $0.probability) }
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
