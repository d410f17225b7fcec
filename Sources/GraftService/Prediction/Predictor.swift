// Classifies images with any registered model: loads model folders into a bounded LRU cache, decodes,
// preprocesses per the model's input spec, runs inference on the prediction compute lane, returns top-k.
import FineTuning
import Foundation
import ImageData
import NeuralNetwork
import Tensors

/// One image's answer: the k most probable labels.
public struct Prediction: Equatable, Sendable {
    public struct Candidate: Equatable, Sendable {
        public var label: String
        public var probability: Double
    }

    public var candidates: [Candidate]
}

/// Runs predictions. Models are loaded once and kept in an LRU cache bounded by the size of their weights.
///
/// A `Graph` caches per-run state and a `ComputeContext` serves one thread at a time, so predictions run one
/// batch at a time on their own lane (by default one thread, leaving the other core to training).
public final class Predictor: @unchecked Sendable {
    private struct Entry {
        var model: ModelFolder
        var spec: ImageData.InputSpec
        var bytes: Int
        var weightsHash: String
        var lastUse: UInt64
    }

    let store: Store
    /// The most weight bytes kept loaded; the least recently used models are dropped beyond it.
    public let maximumCachedBytes: Int
    /// The most images in one request.
    public let maximumBatch: Int
    private let context: ComputeContext
    private let lock = NSLock()
    private var cache: [String: Entry] = [:]
    private var clock: UInt64 = 0

    public init(store: Store, maximumCachedBytes: Int = 512 << 20, maximumBatch: Int = 64,
                context: ComputeContext = ComputeContext(threads: 1)) {
        self.store = store
        self.maximumCachedBytes = maximumCachedBytes
        self.maximumBatch = maximumBatch
        self.context = context
    }

    /// The ids of the models loaded now, least recently used first.
    public var cachedModelIDs: [String] {
        lock.lock()
        defer { lock.unlock() }
        return cache.sorted { $0.value.lastUse < $1.value.lastUse }.map(\.key)
    }

    /// The top `topK` labels of each image, in order. Errors name the image (by index) or the model.
    public func predict(modelID: String, images: [Data], topK: Int = 5) throws -> [Prediction] {
        guard !images.isEmpty else { throw ServiceError.invalid(field: "images", message: "Send at least one image.") }
        guard images.count <= maximumBatch else {
            throw ServiceError.invalid(field: "images", message:
                "\(images.count) images in one request; send at most \(maximumBatch) at a time.")
        }
        guard (1...1000).contains(topK) else {
            throw ServiceError.invalid(field: "top_k", message: "top_k must be from 1 to 1000; got \(topK).")
        }
        let record = try store.model(id: modelID)
        let entry = try withLock { try loaded(record) }
        // Decoding and resizing run on the request's own thread, outside the lock: only the network is serialised.
        var prepared: [ByteImage] = []
        for (index, data) in images.enumerated() {
            do {
                let image = try ImageDecoder.decode(data, fileName: "image \(index)",
                                                    options: entry.spec.decodeOptions())
                prepared.append(entry.spec.prepare(image))
            } catch let error as ImageDataError {
                throw ServiceError.invalid(field: "images[\(index)]", message: error.description)
            }
        }
        let logits: Tensor
        do {
            logits = try withLock { try Self.run(entry, prepared) }
        } catch {
            throw ServiceError.storage(message: "Model \(modelID) failed to run: \(error).")
        }
        let labels = entry.model.manifest.labels
        let classes = logits.shape.last ?? 0
        guard logits.shape.count == 2, logits.shape[0] == images.count, classes == labels.count else {
            throw ServiceError.storage(message: "Model \(modelID) produced \(logits.shape) for \(images.count) "
                + "image(s) and \(labels.count) labels; its head does not match its labels.")
        }
        return (0..<images.count).map { row in
            let probabilities = Self.softmax(Array(logits.scalars[row * classes..<(row + 1) * classes]))
            let order = probabilities.indices.sorted { probabilities[$0] > probabilities[$1] }
            return Prediction(candidates: order.prefix(topK).map {
                Prediction.Candidate(label: labels[$0], probability: probabilities[$0])
            })
        }
    }

    /// Batch sizes whose plans are compiled (and warmed) when a model loads. Requests run in chunks of these
    /// sizes, so no request compiles a plan and a model's memory stays bounded whatever the request size
    /// (EfficientNet-Lite0 needs about 28 MB of activations per image in a batch). Batch 4 runs at about the
    /// best images/s measured on 2 cores; batch 1 is the latency path.
    static let planBatchSizes = [4, 1]

    /// Logits of `images` (prepared to the model's size), in chunks of the prebuilt batch sizes.
    private static func run(_ entry: Entry, _ images: [ByteImage]) throws -> Tensor {
        var scalars: [Float] = []
        var start = 0, classes = 0
        while start < images.count {
            let size = planBatchSizes.first { $0 <= images.count - start }!
            let logits = try entry.model.graph.forward(entry.spec.batch(Array(images[start..<(start + size)])),
                                                       mode: .inference)
            classes = logits.shape.last ?? 0
            scalars += logits.scalars
            start += size
        }
        return Tensor(shape: [images.count, classes], scalars: scalars)
    }

    private func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// softmax(z)_i = exp(z_i − max z) / Σ_j exp(z_j − max z), in Double (shifting by the max avoids overflow).
    static func softmax(_ logits: [Float]) -> [Double] {
        let largest = Double(logits.max() ?? 0)
        let exponentials = logits.map { Foundation.exp(Double($0) - largest) }
        let total = exponentials.reduce(0, +)
        return exponentials.map { $0 / total }
    }

    /// The cached model for `record`, loading it (and evicting others) when needed. Call with `lock` held.
    private func loaded(_ record: ModelRecord) throws -> Entry {
        clock += 1
        if var entry = cache[record.id], entry.weightsHash == record.weightsHash {
            entry.lastUse = clock
            cache[record.id] = entry
            return entry
        }
        let folder = URL(fileURLWithPath: record.path, isDirectory: true)
        let model: ModelFolder
        do {
            model = try ModelFolder.load(from: folder, context: context)
        } catch {
            throw ServiceError.storage(message: "Model \(record.id) cannot be loaded from \(folder.path): \(error)")
        }
        let input = model.manifest.input
        guard ResizePolicy(name: input.resize) != nil else {
            throw ServiceError.storage(message: "Model \(record.id) asks for the unknown resize policy "
                + "'\(input.resize)' in \(folder.path)/model.json; use stretch or shorter_side_then_center_crop.")
        }
        let spec = input.imageSpec
        let weights = folder.appendingPathComponent(ModelFolder.weightsName)
        let bytes = ((try? FileManager.default.attributesOfItem(atPath: weights.path)[.size]) as? NSNumber)?.intValue ?? 0
        do {
            for size in Self.planBatchSizes { try model.graph.prepare(inputShape: model.manifest.inputShape(batch: size)) }
        } catch {
            throw ServiceError.storage(message: "Model \(record.id) in \(folder.path) cannot run: \(error)")
        }
        let entry = Entry(model: model, spec: spec, bytes: bytes, weightsHash: record.weightsHash, lastUse: clock)
        cache[record.id] = entry
        // Evict the least recently used others until the cache fits (the model just loaded always stays).
        while cache.values.reduce(0, { $0 + $1.bytes }) > maximumCachedBytes, cache.count > 1,
              let oldest = cache.filter({ $0.key != record.id }).min(by: { $0.value.lastUse < $1.value.lastUse }) {
            cache[oldest.key] = nil
        }
        return entry
    }
}
