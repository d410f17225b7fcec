/// Labelled images as N×C×H×W batches: whole datasets normalised in memory (small fine-tuning sets,
/// Fashion-MNIST) or decoded batch by batch, gathered by index.
import Foundation
import ImageData
import NeuralNetwork
import Tensors

/// Labelled images served as N×C×H×W batches: all decoded and normalised up front (`TensorImages`), or decoded
/// batch by batch (`StreamedImages`) when the whole set as floats would not sit well in memory.
public protocol ImageBatches {
    var count: Int { get }
    var labels: [Int] { get }
    /// The images at `indices` as one batch tensor, and their labels.
    func batch(_ indices: [Int]) throws -> (images: Tensor, labels: [Int])
}

extension ImageBatches {
    /// Every image in order, `size` at a time.
    func forEachBatch(of size: Int, _ body: (Tensor, [Int]) throws -> Void) throws {
        var start = 0
        while start < count {
            let (images, labels) = try batch(Array(start..<min(count, start + size)))
            try body(images, labels)
            start += size
        }
    }
}

/// A dataset decoded, prepared and normalised per batch: memory for one batch, not the set (10 000 images at
/// 224×224×3 would be 6 GB of floats).
public struct StreamedImages: ImageBatches, Sendable {
    public let dataset: Dataset
    public let spec: InputSpec

    public init(dataset: Dataset, spec: InputSpec) {
        self.dataset = dataset
        self.spec = spec
    }

    public var count: Int { dataset.count }
    public var labels: [Int] { dataset.labels }

    public func batch(_ indices: [Int]) throws -> (images: Tensor, labels: [Int]) {
        let options = spec.decodeOptions()
        let images = try indices.map { spec.prepare(try dataset.loadImage(at: $0, options: options)) }
        return (spec.batch(images), indices.map { dataset.labels[$0] })
    }
}

/// Images of one dataset, decoded and normalised once: `scalars` holds N×C×H×W, `labels` one per image.
public struct TensorImages: ImageBatches, Sendable {
    public var shape: [Int]
    public var scalars: [Float]
    public var labels: [Int]

    public var count: Int { labels.count }
    var sampleSize: Int { shape.dropFirst().reduce(1, *) }

    /// Decodes, prepares (resize policy of `spec`) and normalises every sample of `dataset`.
    public init(dataset: Dataset, spec: InputSpec) throws {
        let size = spec.channels * spec.height * spec.width
        var scalars = [Float](repeating: 0, count: dataset.count * size)
        let options = spec.decodeOptions()
        for index in 0..<dataset.count {
            spec.normalize(spec.prepare(try dataset.loadImage(at: index, options: options)), into: &scalars, at: index * size)
        }
        self.init(shape: [dataset.count, spec.channels, spec.height, spec.width], scalars: scalars, labels: dataset.labels)
    }

    public init(shape: [Int], scalars: [Float], labels: [Int]) {
        precondition(shape.reduce(1, *) == scalars.count && shape[0] == labels.count, "inconsistent image tensor")
        self.shape = shape
        self.scalars = scalars
        self.labels = labels
    }

    /// The images at `indices` as one batch tensor and their labels.
    public func batch(_ indices: [Int]) -> (images: Tensor, labels: [Int]) {
        (Tensor(shape: [indices.count] + shape.dropFirst(), scalars: SampleCopy.gather(indices, from: scalars, sampleSize: sampleSize)),
         indices.map { labels[$0] })
    }
}
