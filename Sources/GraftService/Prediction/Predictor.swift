// Serves predictions of any registered model: keeps a `Classifier` per compute lane in a bounded LRU cache and
// hands requests the lane they may use; the classifier does the decoding, inference and ranking.
import FineTuning
import Foundation
import ImageData
import NeuralNetwork
import Tensors

/// Runs predictions. Models are loaded once and kept in an LRU cache bounded by the memory their copies hold.
///
/// A `Classifier` runs one batch at a time, so each compute lane has its own copy of the model (plans compiled for
/// its thread count, loaded the first time the lane needs it). Lane 0 is one thread and always available: while a
/// job trains, predictions keep to it and leave the other cores to training. While no job trains:
/// - a request of a large model (at least `wideLaneMinimumMACs` per image) that is alone uses the wide lane, every
///   core on one forward pass;
/// - concurrent requests spread over the one-thread idle lanes as well, one per core, each decoding its images
///   and running its network on its own core.
/// Small models (such as the 28×28 default) never use the wide lane: the second core serves them better on HTTP
/// and decoding. `bench/SERVICE.md` has the measurements behind each choice.
public final class Predictor: @unchecked Sendable {
    private struct Entry {
        /// The model on each lane that has run it, by lane index (the last lane, `narrowLaneCount`, is the wide one).
        var models: [Int: Classifier]
        var spec: InputSpec
        var labels: [String]
        /// Multiply-accumulates of one image's forward pass: only large models gain from the wide lane.
        var macsPerImage: Int
        /// What each copy holds in memory, by lane index (see `load`).
        var copyBytes: [Int: Int]
        var weightsHash: String
        var lastUse: UInt64

        var bytes: Int { copyBytes.values.reduce(0, +) }
    }

    let store: Store
    /// The most memory loaded models may hold (every copy: weights, plans, activations); the least recently used
    /// models are dropped beyond it, but the model in use always stays.
    public let maximumCachedBytes: Int
    /// The most images in one request.
    public let maximumBatch: Int
    /// Models below this many multiply-accumulates per image never use the wide lane.
    public let wideLaneMinimumMACs: Int
    /// The memory all requests may spend on decoding at once.
    public let decodeBudget: DecodeBudget
    /// Lane 0, then the idle one-thread lanes, then the wide lane if any.
    private let lanes: [ComputeContext]
    private let narrowLaneCount: Int
    private let hasWideLane: Bool
    private let isTrainingActive: @Sendable () -> Bool
    /// Guards everything below; signalled when a lane is released.
    private let condition = NSCondition()
    private var cache: [String: Entry] = [:]
    private var clock: UInt64 = 0
    private var busy: [Bool]
    private var runs: [Int]
    /// Requests inside `predict` now, and when the last one left.
    private var inFlight = 0
    private var lastFinished = -Double.infinity
    /// How long after a request predictions still count as busy (`isActive`), in seconds.
    public var activeWindow: Double {
        get { locked { window } }
        set { locked { window = newValue } }
    }
    private var window: Double = 1
    /// Called with the lane index each time a request takes a lane, before it runs (tests hold lanes with it).
    var laneTaken: (@Sendable (Int) -> Void)?
    /// Tickets of the requests waiting for a lane, oldest first.
    private var waiting: [UInt64] = []
    private var nextTicket: UInt64 = 0

    /// - Parameters:
    ///   - context: lane 0, the lane predictions keep to while jobs train.
    ///   - idleLanes: more lanes (one thread each, as a rule) for concurrent requests while no job trains.
    ///   - wideContext: a lane of every core for a lone request of a large model while no job trains; nil for none.
    public init(store: Store, maximumCachedBytes: Int = 1 << 30, maximumBatch: Int = 64,
                context: ComputeContext = ComputeContext(threads: 1), idleLanes: [ComputeContext] = [],
                wideContext: ComputeContext? = nil, wideLaneMinimumMACs: Int = 50_000_000,
                decodeBudget: DecodeBudget = DecodeBudget(limitBytes: 1 << 30),
                isTrainingActive: @escaping @Sendable () -> Bool = { true }) {
        self.store = store
        self.maximumCachedBytes = maximumCachedBytes
        self.maximumBatch = maximumBatch
        self.wideLaneMinimumMACs = wideLaneMinimumMACs
        self.decodeBudget = decodeBudget
        lanes = [context] + idleLanes + (wideContext.map { [$0] } ?? [])
        narrowLaneCount = 1 + idleLanes.count
        hasWideLane = wideContext != nil
        self.isTrainingActive = isTrainingActive
        busy = Array(repeating: false, count: lanes.count)
        runs = Array(repeating: 0, count: lanes.count)
    }

    /// The thread count a prediction arriving now, alone, of a large model would run with.
    public var currentThreads: Int {
        if hasWideLane, !isTrainingActive() { return lanes[narrowLaneCount].threads }
        return lanes[0].threads
    }

    /// True while a request is being served or one ended less than `activeWindow` seconds ago: a training job
    /// then leaves a core to predictions.
    public var isActive: Bool { locked { inFlight > 0 || Self.now() - lastFinished < window } }

    private static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// Batches run so far on each lane: lane 0, the idle lanes, then the wide lane.
    public var runsPerLane: [Int] { locked { runs } }

    /// The ids of the models loaded now with a copy on the wide lane.
    public var wideModelIDs: [String] {
        locked { cache.filter { $0.value.models[narrowLaneCount] != nil }.map(\.key).sorted() }
    }

    /// Memory the loaded models hold now, as measured when each copy loaded.
    public var cachedBytes: Int { locked { cache.values.reduce(0) { $0 + $1.bytes } } }

    /// The ids of the models loaded now, least recently used first.
    public var cachedModelIDs: [String] {
        locked { cache.sorted { $0.value.lastUse < $1.value.lastUse }.map(\.key) }
    }

    /// The top `topK` labels of each image, in order. Errors name the image (by index) or the model.
    public func predict(modelID: String, images: [Data], topK: Int = 5) throws -> [Prediction] {
        guard (1...1000).contains(topK) else {
            throw ServiceError.invalid(field: "top_k", message: "top_k must be from 1 to 1000; got \(topK).")
        }
        let scores = try self.scores(modelID: modelID, input: .encoded(images))
        return ClassScores.predictions(logits: scores.logits, labels: scores.labels, topK: topK)
    }

    /// What a request brings to classify.
    public enum Input: Sendable {
        /// Encoded JPEG or PNG images, decoded and prepared per the model's input spec (under the decode budget).
        case encoded([Data])
        /// A batch the client preprocessed itself: normalised N×C×H×W in the model's input size.
        case preprocessed(Tensor)

        var count: Int {
            switch self {
            case .encoded(let images): return images.count
            case .preprocessed(let batch): return batch.shape.first ?? 0
            }
        }
    }

    /// A model's input contract and labels, loading it (on lane 0) if it is not cached: what the V2 metadata
    /// route describes.
    public func inputContract(modelID: String) throws -> (spec: InputSpec, labels: [String]) {
        let entry = try loaded(try store.model(id: modelID))
        return (entry.spec, entry.labels)
    }

    /// Logits N×K of each input, in order, with the model's labels: the one path every prediction route takes
    /// (decode admission, lanes in arrival order, the lane's `Classifier`). Errors name the image (by index), the
    /// batch's shape or the model.
    public func scores(modelID: String, input: Input) throws -> (logits: Tensor, labels: [String]) {
        guard input.count > 0 else {
            throw ServiceError.invalid(field: "images", message: "Send at least one image.")
        }
        guard input.count <= maximumBatch else {
            throw ServiceError.invalid(field: "images", message:
                "\(input.count) images in one request; send at most \(maximumBatch) at a time.")
        }
        let record = try store.model(id: modelID)
        locked { inFlight += 1 }
        defer { locked { inFlight -= 1; lastFinished = Self.now() } }
        let entry = try loaded(record)
        var prepared: [ByteImage] = []
        switch input {
        case .encoded(let images):
            prepared = try prepare(images, spec: entry.spec)
        case .preprocessed(let batch):
            let expected = [batch.shape.first ?? 0, entry.spec.channels, entry.spec.height, entry.spec.width]
            guard batch.shape == expected else {
                throw ServiceError.invalid(field: "input", message: "The batch has shape \(batch.shape); model "
                    + "\(modelID) takes N×\(expected[1])×\(expected[2])×\(expected[3]).")
            }
        }
        do {
            let logits = try onLane(for: record, macsPerImage: entry.macsPerImage) { classifier in
                switch input {
                case .encoded: return try classifier.logits(prepared)
                case .preprocessed(let batch): return try classifier.logits(preprocessed: batch)
                }
            }
            return (logits, entry.labels)
        } catch let error as ServiceError {
            throw error
        } catch {
            throw ServiceError.storage(message: "Model \(modelID) failed to run: \(error).")
        }
    }

    /// Decodes and resizes on the request's own thread before it takes a lane, one image at a time, each within
    /// the service-wide decode budget.
    private func prepare(_ images: [Data], spec: InputSpec) throws -> [ByteImage] {
        var prepared: [ByteImage] = []
        for (index, data) in images.enumerated() {
            do {
                let name = "image \(index)"
                let bytes = try Classifier.decodedByteCount(data, name: name, spec: spec)
                guard decodeBudget.reserve(bytes) else {
                    throw ServiceError.saturated(code: "decode_budget_full", message:
                        "Images being decoded for other requests hold the decode memory budget "
                        + "(\(decodeBudget.limitBytes >> 20) MiB, graft serve --decode-budget-mib); this one needs "
                        + "\((bytes + (1 << 20) - 1) >> 20) MiB. Retry in a moment, or send smaller images.",
                        retryAfterSeconds: 1)
                }
                defer { decodeBudget.release(bytes) }
                prepared.append(try Classifier.prepare(data, name: name, spec: spec))
            } catch let error as ImageDataError {
                throw ServiceError.invalid(field: "images[\(index)]", message: error.description)
            }
        }
        return prepared
    }

    /// The lane a request may take now, if any. Call with the lock held.
    private func freeLane(macsPerImage: Int) -> Int? {
        let training = isTrainingActive()
        if hasWideLane, !training, inFlight == 1, macsPerImage >= wideLaneMinimumMACs, !busy.contains(true) {
            return narrowLaneCount
        }
        if hasWideLane, busy[narrowLaneCount] { return nil }
        return (0..<(training ? 1 : narrowLaneCount)).first { !busy[$0] }
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        condition.lock()
        defer { condition.unlock() }
        return try body()
    }

    /// Waits for a lane this request may use, runs `body` with the model's copy on it (loading that copy the first
    /// time), and releases the lane. While a job trains only lane 0 is used; otherwise the wide lane when the
    /// request is alone and the model large, else any free one-thread lane.
    private func onLane<T>(for record: ModelRecord, macsPerImage: Int, _ body: (Classifier) throws -> T) throws -> T {
        condition.lock()
        // Lanes go to waiting requests in arrival order: without it, whichever waiter wakes first wins and the
        // slowest request of a busy minute waits several turns (p99 of 8 clients rose by half).
        let ticket = nextTicket
        nextTicket += 1
        waiting.append(ticket)
        var lane: Int
        while true {
            if waiting.first == ticket, let free = freeLane(macsPerImage: macsPerImage) {
                lane = free
                waiting.removeFirst()
                // the next in line may find another lane free
                condition.broadcast()
                break
            }
            condition.wait()
        }
        busy[lane] = true
        runs[lane] += 1
        let laneTaken = self.laneTaken
        let existing = cache[record.id].flatMap { $0.weightsHash == record.weightsHash ? $0.models[lane] : nil }
        condition.unlock()
        defer {
            condition.lock()
            busy[lane] = false
            condition.broadcast()
            condition.unlock()
        }
        laneTaken?(lane)
        if let existing { return try body(existing) }
        let (model, bytes) = try load(record, context: lanes[lane])
        locked {
            if var entry = cache[record.id], entry.weightsHash == record.weightsHash {
                entry.models[lane] = model
                entry.copyBytes[lane] = bytes
                cache[record.id] = entry
                evict(keeping: record.id)
            }
        }
        return try body(model)
    }

    /// The cache entry of `record`, loading the model on lane 0 (and evicting others) when it is not cached.
    /// Loading runs outside the lock: predictions of other models go on meanwhile.
    private func loaded(_ record: ModelRecord) throws -> Entry {
        let cached: Entry? = locked {
            clock += 1
            guard var entry = cache[record.id], entry.weightsHash == record.weightsHash else { return nil }
            entry.lastUse = clock
            cache[record.id] = entry
            return entry
        }
        if let cached { return cached }
        let (model, bytes) = try load(record, context: lanes[0])
        let macs = model.macsPerImage
        return locked {
            // Another request may have loaded it meanwhile: keep the first.
            if let entry = cache[record.id], entry.weightsHash == record.weightsHash { return entry }
            let entry = Entry(models: [0: model], spec: model.spec, labels: model.labels, macsPerImage: macs,
                              copyBytes: [0: bytes], weightsHash: record.weightsHash, lastUse: clock)
            cache[record.id] = entry
            evict(keeping: record.id)
            return entry
        }
    }

    /// The classifier of `record` on `context`, its plans compiled and warmed, and the memory it holds: what the
    /// process's resident set grew by while it loaded, and at least the size of its weights file. Plans,
    /// activations and oneDNN's kernels make that several times the weights, which a bound on weights alone would
    /// miss (`bench/SERVICE.md` has the figures). Other threads allocating meanwhile can only make the figure
    /// larger, so the bound errs on the safe side.
    private func load(_ record: ModelRecord, context: ComputeContext) throws -> (Classifier, bytes: Int) {
        let before = Self.residentBytes()
        let folder = URL(fileURLWithPath: record.path, isDirectory: true)
        let classifier: Classifier
        do {
            classifier = try Classifier(folder: folder, context: context)
            try classifier.warm()
        } catch {
            throw ServiceError.storage(message: "Model \(record.id) in \(folder.path) cannot be used: \(error)")
        }
        let weights = folder.appendingPathComponent(ModelFolder.weightsName)
        let weightBytes = ((try? FileManager.default.attributesOfItem(atPath: weights.path)[.size]) as? NSNumber)?
            .intValue ?? 0
        return (classifier, max(weightBytes, Self.residentBytes() - before))
    }

    /// The process's resident set size, from `/proc/self/statm` (0 where that cannot be read).
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Drops the least recently used other models until the cache fits (the model just used always stays).
    private func evict(keeping id: String) {
        while cache.values.reduce(0, { $0 + $1.bytes }) > maximumCachedBytes, cache.count > 1,
              let oldest = cache.filter({ $0.key != id }).min(by: { $0.value.lastUse < $1.value.lastUse }) {
            cache[oldest.key] = nil
        }
    }
}
