import ArgumentParser
import FineTuning
import Foundation
import NeuralNetwork

/// `graft pretrain fmnist-resnet8`: rebuilds the embedded default base model with its fixed recipe and seed.
struct Pretrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build a base model from its fixed recipe.", subcommands: [FashionMNISTResNet8.self])

    struct FashionMNISTResNet8: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fmnist-resnet8",
            abstract: "ResNet-8 on Fashion-MNIST classes 0–4 (SGD Nesterov, cosine lr 0.05, 8 epochs, pad-2 crop + flip).")

        @Option(help: "Output model folder.") var output = "Models/fmnist-resnet8"
        @Option(help: "Epochs (the recipe uses 8).") var epochs = 8
        @Option(help: "Random seed (the committed model uses the default).") var seed: UInt64 = 2024
        @Option(help: "Training images per class (default: all 6 000).") var perClassLimit: Int?

        func validate() throws {
            guard epochs > 0 else { throw ValidationError("--epochs must be at least 1") }
            if let perClassLimit, perClassLimit < 1 { throw ValidationError("--per-class-limit must be at least 1") }
        }

        func run() throws {
            var recipe = FashionMNISTPretraining()
            recipe.epochs = epochs
            recipe.seed = seed
            recipe.perClassLimit = perClassLimit
            let model = try recipe.run { report in
                print(String(format: "epoch %d/%d  loss %.4f  train acc %.4f  test acc %.4f  %.1f s",
                             report.epoch, epochs, report.loss, report.trainAccuracy, report.testAccuracy, report.seconds))
            }
            try model.save(to: URL(fileURLWithPath: output))
            print("saved \(output) (test accuracy \(model.manifest.metrics["test_accuracy"] ?? 0))")
        }
    }
}
