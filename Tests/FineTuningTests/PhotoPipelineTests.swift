// Graft's own path from a photo file to ImageNet labels (Classifier.prepare: full decode, torchvision's Resize(256)
// and CenterCrop(224) with Pillow's resampling, normalisation, network) against Pillow + PyTorch on the same photos.
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
    static let pillowFixtures = repository.appendingPathComponent("Tests/ImageDataTests/Fixtures/pillow")
    static var weightsAvailable: Bool {
        FileManager.default.fileExists(atPath: model.appendingPathComponent("weights.safetensors").path)
    }
    static var available: Bool {
        weightsAvailable && FileManager.default.fileExists(atPath: photos.appendingPathComponent("china.jpg").path)
    }

    static func top5(_ values: [Float]) -> [Int] {
        Array(values.indices.sorted { values[$0] > values[$1] }.prefix(5))
    }

    /// The pixels equal Pillow's within a level (issue 26's bounds: max 1, mean 0.05) and the top-5 is PyTorch's.
    @Test(.enabled(if: available, "run scripts/fetch-efficientnet-lite0 first: the weights or the sample photos are absent"))
    func photoFilesGiveTheLabelsPyTorchGives() throws {
        let classifier = try Classifier(folder: Self.model, context: ComputeContext(threads: 2))
        let spec = classifier.spec
        #expect(spec.cropFraction == 0.875 && spec.resize == .shorterSideThenCenterCrop && !spec.fastJPEG)
        let fixture = try Safetensors.read(contentsOf: Self.repository
            .appendingPathComponent("Tests/NeuralNetworkTests/Fixtures/efficientnet_lite0_photos.safetensors")).tensors
        for (photo, label) in [("china", "palace"), ("flower", "daisy")] {
            let prepared = try Classifier.prepare(contentsOf: Self.photos.appendingPathComponent(photo + ".jpg"), spec: spec)
            let pillow = try #require(fixture[photo + ".pixels"]).scalars
            #expect(prepared.pixels.count == pillow.count)
            let differences = zip(prepared.pixels, pillow).map { abs(Double($0) - Double($1)) }
            let mean = differences.reduce(0, +) / Double(pillow.count)
            #expect(differences.max()! <= 1 && mean <= 0.05, "\(photo): max |Δ| \(differences.max()!), mean \(mean)")
            let logits = try classifier.logits([prepared]).scalars
            let expected = try #require(fixture[photo + ".logits"]).scalars
            #expect(Self.top5(logits) == Self.top5(expected), "\(photo)")
            #expect(classifier.labels[Self.top5(logits)[0]] == label, "\(photo)")
        }
    }

    /// Every photo cut of the Pillow fixtures (each JPEG and PNG kind), prepared by Graft, gets the top-5 that
    /// PyTorch gives Pillow's pixels (make_pillow_fixtures.py --weights).
    @Test(.enabled(if: weightsAvailable, "run scripts/fetch-efficientnet-lite0 first: the weights are absent"))
    func everyPhotoFixtureGetsPyTorchsTopFive() throws {
        struct Manifest: Decodable {
            struct Case: Decodable { var name: String, file: String?, top5: [Int]? }
            var cases: [Case]
        }
        let manifest = try JSONDecoder().decode(
            Manifest.self, from: Data(contentsOf: Self.pillowFixtures.appendingPathComponent("cases.json")))
        let cases = manifest.cases.filter { $0.top5 != nil }
        #expect(cases.count >= 18, "the fixtures were made without --weights")
        let classifier = try Classifier(folder: Self.model, context: ComputeContext(threads: 2))
        for item in cases {
            let prepared = try Classifier.prepare(
                contentsOf: Self.pillowFixtures.appendingPathComponent(item.file!), spec: classifier.spec)
            #expect(Self.top5(try classifier.logits([prepared]).scalars) == item.top5, "\(item.name)")
        }
    }

    /// EfficientNet-Lite0 with its ImageNet weights leaves as ONNX and comes back through `graft import onnx` as
    /// the same classifier: the input spec and labels from the export's metadata, and on every sample photo the
    /// same top-5 (and logits within float rounding of the folded batch norms).
    @Test(.enabled(if: available, "run scripts/fetch-efficientnet-lite0 first: the weights or the sample photos are absent"))
    func anExportedEfficientNetImportsBackWithTheSameTopFive() throws {
        let original = try Classifier(folder: Self.model, context: ComputeContext(threads: 2))
        let bytes = try ONNXExport.export(original.model)
        let (model, summary) = try ONNXImport.importModel(data: bytes, name: "efficientnet-lite0.onnx")
        #expect(summary.notes.contains { $0.contains("graft.input") }, "\(summary.notes)")
        #expect(model.manifest.input == original.spec && model.manifest.labels == original.labels)
        let imported = Classifier(model: model)
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.photos.path)
            .filter { $0.hasSuffix(".jpg") || $0.hasSuffix(".png") }.sorted()
        #expect(files.count >= 2, "\(files)")
        for file in files {
            let prepared = try Classifier.prepare(contentsOf: Self.photos.appendingPathComponent(file), spec: imported.spec)
            let before = try original.logits([prepared]).scalars, after = try imported.logits([prepared]).scalars
            #expect(Self.top5(after) == Self.top5(before), "\(file)")
            let range = before.max()! - before.min()!
            let worst = zip(before, after).map { abs($0 - $1) }.max()!
            #expect(worst <= 1e-4 * range, "\(file): max |Δ logit| \(worst) of a range of \(range)")
        }
    }
}
