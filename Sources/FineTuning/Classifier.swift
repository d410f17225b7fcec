/// A model folder as an image classifier: image bytes → decoded and prepared per the model's input spec →
/// logits in chunks of the batch sizes it compiled → top-k labels with probabilities. The one prediction path of
/// the service, `graft predict` and the benchmarks; evaluation ranks with the same `ClassScores`.
import Foundation
import ImageData
import NeuralNetwork
import Tensors

/// Why a classifier could not run: the model's files or graph are at fault (an image's fault is an
/// `ImageDataError` naming the image).
public struct ClassifierError: Error, CustomStringConvertible {
    public var description: String
}

/// A model loaded on one compute lane, ready to classify.
///
/// A `Graph` caches per-run state and its `ComputeContext` serves one thread at a time, so a classifier runs one
/// batch at a time; a server keeps one per lane. Requests of any size run in chunks of `batchSizes`, whose plans
/// `warm()` compiles up front, so no request compiles a plan and the memory a classifier holds stays bounded
/// whatever the request size.
public final class Classifier {
    public let model: ModelFolder
    /// Chunk sizes, largest first; the last is 1, so any count of images runs.
    public let batchSizes: [Int]

    /// Batch 4 runs at about the best images/s measured on 2 cores (`bench/SERVICE.md`); batch 1 is the latency
    /// path.
    public static let defaultBatchSizes = [4, 1]

    public var spec: InputSpec { model.manifest.input }
    public var labels: [String] { model.manifest.labels }

    public init(model: ModelFolder, batchSizes: [Int] = Classifier.defaultBatchSizes) {
        precondition(batchSizes.last == 1 && batchSizes == batchSizes.sorted(by: >), "batch sizes must descend to 1")
        self.model = model
        self.batchSizes = batchSizes
    }

    /// Loads the model folder at `folder` onto `context`; errors name the folder.
    public convenience init(folder: URL, context: ComputeContext = ComputeContext(),
                            batchSizes: [Int] = Classifier.defaultBatchSizes) throws {
        let model: ModelFolder
        do { model = try ModelFolder.load(from: folder, context: context) } catch {
            throw ClassifierError(description: "The model cannot be loaded from \(folder.path): \(error)")
        }
        self.init(model: model, batchSizes: batchSizes)
    }

    /// Compiles and runs once the plan of every chunk size, so the first request finds them ready.
    public func warm() throws {
        do {
            for size in batchSizes { try model.graph.prepare(inputShape: model.manifest.inputShape(batch: size)) }
        } catch {
            throw ClassifierError(description: "The model cannot run on its \(spec.channels)×\(spec.height)×"
                + "\(spec.width) input: \(error)")
        }
    }

    /// Multiply-accumulates of one image's forward pass (0 when the graph cannot say).
    public var macsPerImage: Int {
        ((try? model.graph.summaryRows(inputShape: model.manifest.inputShape(batch: 1))) ?? []).reduce(0) { $0 + $1.macs }
    }

    /// How images to classify are decoded: no more pixels than the input needs where the format allows, and an
    /// image that would still decode far larger than the model can use refused from its header, before anything
    /// is allocated (`InputSpec.decodedPixelBudget`).
    public static func decodeOptions(for spec: InputSpec) -> DecodeOptions {
        spec.decodeOptions(maximumDecodedPixelCount: spec.decodedPixelBudget())
    }

    /// The bytes decoding `data` will allocate, read from its header (what a server budgets before decoding).
    public static func decodedByteCount(_ data: Data, name: String, spec: InputSpec) throws -> Int {
        try ImageDecoder.decodedByteCount(data, fileName: name, options: decodeOptions(for: spec))
    }

    /// Decodes image bytes and brings them to the input size; needs no lane, so callers run it on their own
    /// thread. `name` is how errors refer to the image.
    public static func prepare(_ data: Data, name: String, spec: InputSpec) throws -> ByteImage {
        spec.prepare(try ImageDecoder.decode(data, fileName: name, options: decodeOptions(for: spec)))
    }

    /// Decodes an image file and brings it to the input size.
    public static func prepare(contentsOf url: URL, spec: InputSpec) throws -> ByteImage {
        spec.prepare(try ImageDecoder.decode(contentsOf: url, options: decodeOptions(for: spec)))
    }

    /// Logits N×K of images already prepared to the input size, in chunks of `batchSizes`.
    public func logits(_ images: [ByteImage]) throws -> Tensor {
        try chunkedLogits(count: images.count) { start, size in spec.batch(Array(images[start..<(start + size)])) }
    }

    /// Logits N×K of a batch already preprocessed to the model's input (normalised N×C×H×W, as `InputSpec.batch`
    /// makes it), in chunks of `batchSizes`: what a client that preprocesses itself sends (the V2 protocol's FP32
    /// input). The batch's shape must be `inputShape(batch: N)`.
    public func logits(preprocessed batch: Tensor) throws -> Tensor {
        let expected = model.manifest.inputShape(batch: batch.shape.first ?? 0)
        guard batch.shape == expected, batch.shape[0] > 0 else {
            throw ClassifierError(description: "The batch has shape \(batch.shape); this model takes N×"
                + "\(spec.channels)×\(spec.height)×\(spec.width) with N ≥ 1.")
        }
        let imageSize = expected.dropFirst().reduce(1, *)
        return try chunkedLogits(count: batch.shape[0]) { start, size in
            Tensor(shape: model.manifest.inputShape(batch: size),
                   scalars: Array(batch.scalars[(start * imageSize)..<((start + size) * imageSize)]))
        }
    }

    /// Runs `count` inputs through the graph in chunks of `batchSizes` (each chunk's tensor made by `chunk(start,
    /// size)`), so only warmed plans run, and checks that the head gives one score per label.
    private func chunkedLogits(count: Int, _ chunk: (Int, Int) -> Tensor) throws -> Tensor {
        var scalars: [Float] = []
        var start = 0, classes = 0
        while start < count {
            let size = batchSizes.first { $0 <= count - start }!
            let logits = try model.graph.forward(chunk(start, size), mode: .inference)
            classes = logits.shape.last ?? 0
            scalars += logits.scalars
            start += size
        }
        guard classes == labels.count else {
            throw ClassifierError(description: "The model produced \(classes) scores per image for "
                + "\(labels.count) labels; its head does not match its labels.")
        }
        return Tensor(shape: [count, classes], scalars: scalars)
    }

    /// The `topK` most probable labels of each prepared image, in order.
    public func classify(_ images: [ByteImage], topK: Int) throws -> [Prediction] {
        ClassScores.predictions(logits: try logits(images), labels: labels, topK: topK)
    }
}
