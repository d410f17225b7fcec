// The pretraining recipe's augmentation against a padded-array reference, and a miniature run of the recipe.
import Foundation
import ImageData
import NeuralNetwork
import Tensors
import Testing
@testable import FineTuning

@Suite struct PretrainingTests {
    @Test func padCropFlipMatchesAPaddedArrayReference() {
        let (n, c, h, w, p) = (3, 2, 5, 4, 2)
        var g = SeededGenerator(seed: 9)
        let source = (0..<(n * c * h * w)).map { _ in g.nextGaussian() }
        var batch = Tensor(shape: [n, c, h, w], scalars: source)
        let augmentation = PadCropFlip(padding: p, fill: [-7, -9])
        var generator = SeededGenerator(seed: 4)
        var replay = generator
        augmentation.apply(to: &batch, using: &generator)
        for sample in 0..<n {
            // the same draws, in the same order: row offset, column offset, flip
            let dy = Int(replay.next() % UInt64(2 * p + 1)), dx = Int(replay.next() % UInt64(2 * p + 1))
            let flip = replay.next() & 1 == 1
            for channel in 0..<c {
                // explicit padded plane, then the window at (dy, dx), then mirrored
                let (ph, pw) = (h + 2 * p, w + 2 * p)
                var padded = [Float](repeating: augmentation.fill[channel], count: ph * pw)
                for y in 0..<h { for x in 0..<w { padded[(y + p) * pw + x + p] = source[((sample * c + channel) * h + y) * w + x] } }
                for y in 0..<h {
                    for x in 0..<w {
                        let windowX = flip ? w - 1 - x : x
                        let expected = padded[(y + dy) * pw + windowX + dx]
                        #expect(batch.scalars[((sample * c + channel) * h + y) * w + x] == expected)
                    }
                }
            }
        }
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: IDXDataset.fashionMNISTFolder.path)))
    func miniatureRecipeWritesALoadableBaseModel() throws {
        var recipe = FashionMNISTPretraining()
        recipe.epochs = 1
        recipe.perClassLimit = 64
        var reports: [FashionMNISTPretraining.EpochReport] = []
        let model = try recipe.run(context: ComputeContext(threads: 2)) { reports.append($0) }
        #expect(reports.count == 1)
        #expect(model.manifest.labels == Array(IDXDataset.fashionMNISTClassNames.prefix(5)))
        #expect(model.manifest.head == "fc" && model.manifest.input == FashionMNISTPretraining.input)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("graft-pretrain-\(UUID().uuidString)")
        try model.save(to: folder)
        let loaded = try ModelFolder.load(from: folder, context: ComputeContext(threads: 1))
        #expect(loaded.graph.stateDict()["fc.weight"]?.shape == [5, 64])
        #expect(loaded.graph.stateDict()["layer3_conv2.weight"]?.scalars == model.graph.stateDict()["layer3_conv2.weight"]?.scalars)
    }

    @Test func committedBaseModelLoadsWithTheRecipeInput() throws {
        // Tests run from the package root; the default base model is committed under Models/.
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Models/fmnist-resnet8")
        let model = try ModelFolder.load(from: folder, context: ComputeContext(threads: 1))
        #expect(model.manifest.input == FashionMNISTPretraining.input)
        #expect(model.manifest.head == "fc" && model.manifest.labels.count == 5)
        #expect(model.graph.nodes.map(\.name) == Architectures.resnet8(classes: 5).map(\.name))
    }
}
