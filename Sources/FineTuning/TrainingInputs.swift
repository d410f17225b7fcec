/// A run's training inputs: images decoded once or streamed, the frozen prefix's cached features, augmented
/// views, the per-epoch sample order, and the digest that ties a checkpoint to its data.
import Foundation
import ImageData
import NeuralNetwork
import Tensors

enum TrainingInputs {
    /// The dataset as batches: decoded once into memory when it is small enough, otherwise streamed.
    static func images(_ dataset: Dataset, spec: InputSpec, materializedLimit: Int) throws -> any ImageBatches {
        let bytes = dataset.count * spec.channels * spec.height * spec.width * MemoryLayout<Float>.stride
        return bytes <= materializedLimit ? try TensorImages(dataset: dataset, spec: spec)
            : StreamedImages(dataset: dataset, spec: spec)
    }

    /// The frozen prefix's output for every image, in inference mode, as the suffix's training inputs.
    static func features(_ prefix: Graph, _ images: any ImageBatches, batchSize: Int) throws -> TensorImages {
        var scalars: [Float] = []
        var shape: [Int] = []
        try images.forEachBatch(of: batchSize) { batch, _ in
            let output = try prefix.forward(batch, mode: .inference)
            shape = Array(output.shape.dropFirst())
            scalars += output.scalars
        }
        return TensorImages(shape: [images.count] + shape, scalars: scalars, labels: images.labels)
    }

    /// Every training image augmented once, streamed: image i of view v draws from a generator seeded by the
    /// run's seed, v and i, so a view is the same whichever batches ask for it.
    struct AugmentedView: ImageBatches {
        /// The training images and the spec that prepares them.
        let source: StreamedImages
        let config: AugmentationConfig
        /// The run's seed mixed with the view's number.
        let viewSeed: UInt64

        init(dataset: Dataset, spec: InputSpec, config: AugmentationConfig, seed: UInt64, view: Int) {
            source = StreamedImages(dataset: dataset, spec: spec)
            self.config = config
            viewSeed = seed ^ (0xA076_1D64_78BD_642F &* UInt64(view + 1))
        }

        var count: Int { source.count }
        var labels: [Int] { source.labels }

        func batch(_ indices: [Int]) throws -> (images: Tensor, labels: [Int]) {
            let spec = source.spec, options = spec.decodeOptions()
            let images = try indices.map { index in
                var generator = SeededGenerator(seed: viewSeed ^ (0xE703_7ED1_A0B4_28DB &* UInt64(index + 1)))
                return spec.augment(try source.dataset.loadImage(at: index, options: options), config: config,
                                    using: &generator)
            }
            return (spec.batch(images), indices.map { source.labels[$0] })
        }
    }

    /// The epoch's sample order: a Fisher–Yates shuffle seeded by the run's seed and the epoch only, so a
    /// resumed run walks the same batches.
    static func order(count: Int, seed: UInt64, epoch: Int) -> [Int] {
        var generator = SeededGenerator(seed: seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(epoch + 1))
        var order = Array(0..<count)
        DatasetSplit.shuffle(&order, using: &generator)
        return order
    }

    /// A 64-bit digest of the class names, labels, the input spec and every sample's source as stored (a file's
    /// bytes, or pixels already in memory): the same data gives the same hash, different data a different one.
    /// Reading the files costs a small fraction of decoding them, which the run does anyway.
    static func hash(classes: [String], sets: [Dataset], spec: InputSpec) throws -> String {
        var digest = Digest64()
        for name in classes { digest.mix(Array(name.utf8)); digest.mix(0xff) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        digest.mix(Array(try encoder.encode(spec)))
        for set in sets {
            set.labels.forEach { digest.mix(UInt64($0)) }
            for sample in set.samples {
                switch sample.source {
                case .file(let url):
                    let bytes: Data
                    do { bytes = try Data(contentsOf: url, options: .mappedIfSafe) } catch {
                        throw ImageDataError.io(path: url.path, reason: (error as NSError).localizedDescription)
                    }
                    digest.mix(UInt64(bytes.count))
                    digest.mix(bytes)
                case .pixels(let image):
                    digest.mix(UInt64(image.width)); digest.mix(UInt64(image.height)); digest.mix(UInt64(image.channels))
                    digest.mix(image.pixels)
                }
            }
        }
        return String(format: "fnv1a64w:%016llx", digest.value)
    }
}
