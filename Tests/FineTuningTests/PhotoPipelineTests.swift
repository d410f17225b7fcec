// Graft's own path from a photo file to ImageNet labels (decode, 0.875 centre crop, resize, normalise, network)
// against Pillow + PyTorch on the same photos.
import Foundation
import ImageData
import NeuralNetwork
import Tensors
import Testing
@testable import FineTuning

@Suite struct PhotoPipelineTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let model = repository.appendingPathComponent("Models/efficientnet-lite0")
    static let photos = repository.appendingPathComponent("var/cache/sample-photos")
    static var available: Bool {
        FileManager.default.fileExists(atPath: model.appendingPathComponent("weights.safetensors").path)
            && FileManager.default.fileExists(atPath: photos.appendingPathComponent("china.jpg").path)
    }

    /// The pixels agree with Pillow's to a fraction of a level on average (0.13 and 0.15 measured; the same
    /// filter, but rounding differs), and the labels must agree.
    @Test(.enabled(if: available, "run scripts/fetch-efficientnet-lite0 first: the weights or the sample photos are absent"))
    func photoFilesGiveTheLabelsPyTorchGives() throws {
        let folder = try ModelFolder.load(from: Self.model, context: ComputeContext(threads: 2))
        let spec = folder.manifest.input
        #expect(spec.cropFraction == 0.875 && spec.resize == .shorterSideThenCenterCrop)
        let fixture = try Safetensors.read(contentsOf: Self.repository
            .appendingPathComponent("Tests/NeuralNetworkTests/Fixtures/efficientnet_lite0_photos.safetensors")).tensors
        for (photo, label) in [("china", "palace"), ("flower", "daisy")] {
            let image = try ImageDecoder.decode(contentsOf: Self.photos.appendingPathComponent(photo + ".jpg"),
                                                options: spec.decodeOptions())
            let prepared = spec.prepare(image)
            let pillow = try #require(fixture[photo + ".pixels"]).scalars
            #expect(prepared.pixels.count == pillow.count)
            let meanDifference = zip(prepared.pixels, pillow).reduce(0.0) { $0 + abs(Double($1.0) - Double($1.1)) }
                / Double(pillow.count)
            #expect(meanDifference < 0.5, "\(photo): mean |Δpixel| \(meanDifference) against Pillow")
            let logits = try folder.graph.forward(spec.tensor(image), mode: .inference)
            let expected = try #require(fixture[photo + ".logits"]).scalars
            let best = logits.scalars.indices.max { logits.scalars[$0] < logits.scalars[$1] }!
            #expect(folder.manifest.labels[best] == label, "\(photo): \(folder.manifest.labels[best])")
            #expect(best == expected.indices.max { expected[$0] < expected[$1] }!)
        }
    }
}
