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
/// batch at a time on their own lane (by default one thread, leaving the other core to training). With an idle
/// lane configured, a prediction made while no job trains and no other request is being served uses it instead
/// (every core): a second copy of the model whose plans are compiled for that thread count, loaded the first time
/// it is needed. Under concurrent requests the one-thread lane stays faster: the other core decodes images. Small
/// models (under `wideLaneMinimumMACs` per image, such as the 28×28 default) always use the one-thread lane:
/// measured with 8 clients on 2 cores, the wide lane cost the default model 10–20 % of its requests/s, while a
/// lone EfficientNet-Lite0 request went from 7.7 to 5.3–6.2 ms at the median.
public final class Predictor: @unchecked Sendable {
    private struct Entry {
        var model: ModelFolder
        /// The same model on the idle lane.
        var wideModel: ModelFolder?
        var spec: ImageData.InputSpec
        /// Multiply-accumulates of one image's forward pass: only large models gain from a second thread.
        var macsPerImage: Int
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
    private let idleContext: ComputeContext?
    private let isTrainingActive: @Sendable () -> Bool
    private let lock = NSLock()
    private var cache: [String: Entry] = [:]
    private var clock: UInt64 = 0
    /// Requests inside `predict` now (guarded by `lock`).
    private var inFlight = 0

    /// - Parameters:
    ///   - context: the prediction lane while jobs train.
    ///   - idleContext: a wider lane for when `isTrainingActive()` is false; nil keeps to `context`.
    public init(store: Store, maximumCachedBytes: Int = 512 << 20, maximumBatch: Int = 64,
                context: ComputeContext = ComputeContext(threads: 1), idleContext: ComputeContext? = nil,
                wideLaneMinimumMACs: Int = 50_000_000, isTrainingActive: @escaping @Sendable () -> Bool = { true }) {
        self.wideLaneMinimumMACs = wideLaneMinimumMACs
        self.store = store
        self.maximumCachedBytes = maximumCachedBytes
        self.maximumBatch = maximumBatch
        self.context = context
        self.idleContext = idleContext
        self.isTrainingActive = isTrainingActive
    }

    /// The thread count a prediction arriving now, alone, would run with.
    public var currentThreads: Int {
        if let idleContext, !isTrainingActive() { return idleContext.threads }
        return context.threads
    }

    /// The ids of the models loaded now with a copy on the idle lane.
    public var wideModelIDs: [String] {
        lock.lock()
        defer { lock.unlock() }
        return cache.filter { $0.value.wideModel != nil }.map(\.key).sorted()
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
        let alone = withLock { () -> Bool in inFlight += 1; return inFlight == 1 }
        defer { withLock { inFlight -= 1 } }
        let (entry, wide) = try withLock { try loaded(record, wide: alone && idleContext != nil && !isTrainingActive()) }
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
            logits = try withLock { try Self.run(wide ? entry.wideModel! : entry.model, entry.spec, prepared) }
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

    /// Models below this many multiply-accumulates per image stay on the one-thread lane.
    public let wideLaneMinimumMACs: Int

    /// Logits of `images` (prepared to the model's size), in chunks of the prebuilt batch sizes.
    private static func run(_ model: ModelFolder, _ spec: ImageData.InputSpec, _ images: [ByteImage]) throws -> Tensor {
        var scalars: [Float] = []
        var start = 0, classes = 0
        while start < images.count {
            let size = planBatchSizes.first { $0 <= images.count - start }!
            let logits = try model.graph.forward(spec.batch(Array(images[start..<(start + size)])),
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

    /// The cached model for `record` (loading it, and evicting others, when needed) and whether to run it on the
    /// idle lane: when `wide` is asked for and the model is large enough. Call with `lock` held.
    private func loaded(_ record: ModelRecord, wide: Bool) throws -> (Entry, wide: Bool) {
        clock += 1
        if var entry = cache[record.id], entry.weightsHash == record.weightsHash {
            entry.lastUse = clock
            let useWide = wide && entry.macsPerImage >= wideLaneMinimumMACs
            if useWide, entry.wideModel == nil, let idleContext {
                entry.wideModel = try load(record, context: idleContext)
                entry.bytes *= 2
            }
            cache[record.id] = entry
            evict(keeping: record.id)
            return (entry, useWide)
        }
        let folder = URL(fileURLWithPath: record.path, isDirectory: true)
        let model = try load(record, context: context)
        let spec: ImageData.InputSpec
        do { spec = try model.manifest.input.imageSpec() } catch {
            throw ServiceError.storage(message: "Model \(record.id) in \(folder.path) cannot be used: \(error)")
        }
        let weights = folder.appendingPathComponent(ModelFolder.weightsName)
        let bytes = ((try? FileManager.default.attributesOfItem(atPath: weights.path)[.size]) as? NSNumber)?.intValue ?? 0
        let macs = (try? model.graph.summaryRows(inputShape: model.manifest.inputShape(batch: 1)))?
            .reduce(0) { $0 + $1.macs } ?? 0
        var entry = Entry(model: model, spec: spec, macsPerImage: macs, bytes: bytes, weightsHash: record.weightsHash,
                          lastUse: clock)
        let useWide = wide && macs >= wideLaneMinimumMACs
        if useWide, let idleContext {
            entry.wideModel = try load(record, context: idleContext)
            entry.bytes *= 2
        }
        cache[record.id] = entry
        evict(keeping: record.id)
        return (entry, useWide)
    }

    /// The model folder of `record` on `context`, with its plans for the prebuilt batch sizes compiled and warmed.
    private func load(_ record: ModelRecord, context: ComputeContext) throws -> ModelFolder {
        let folder = URL(fileURLWithPath: record.path, isDirectory: true)
        let model: ModelFolder
        do {
            model = try ModelFolder.load(from: folder, context: context)
        } catch {
            throw ServiceError.storage(message: "Model \(record.id) cannot be loaded from \(folder.path): \(error)")
        }
        do {
            for size in Self.planBatchSizes { try model.graph.prepare(inputShape: model.manifest.inputShape(batch: size)) }
        } catch {
            throw ServiceError.storage(message: "Model \(record.id) in \(folder.path) cannot run: \(error)")
        }
        return model
    }

    /// Drops the least recently used other models until the cache fits (the model just used always stays).
    private func evict(keeping id: String) {
        while cache.values.reduce(0, { $0 + $1.bytes }) > maximumCachedBytes, cache.count > 1,
              let oldest = cache.filter({ $0.key != id }).min(by: { $0.value.lastUse < $1.value.lastUse }) {
            cache[oldest.key] = nil
        }
    }
}
