/// Batches of normalised N×C×H×W tensors, decoded and preprocessed on background threads with bounded
/// prefetch so that decoding overlaps compute; the order and every augmentation are fixed by the seed.
/// Worker threads write disjoint samples of one batch buffer through an unsafe pointer (no lock, no copy per image).
import Foundation
import Tensors

/// One batch: images as N×C×H×W, their labels, and which dataset samples they are.
public struct Batch: Sendable, Equatable {
    public var images: Tensor
    public var labels: [Int]
    public var sampleIndices: [Int]
}

/// How a ``BatchLoader`` walks a dataset.
public struct BatchLoaderOptions: Sendable {
    public var batchSize: Int
    /// Shuffle the order each epoch (seeded by `seed` and the epoch).
    public var shuffles: Bool
    public var seed: UInt64
    public var epoch: Int
    public var augmentation: AugmentationConfig
    /// Leave out a last, smaller batch.
    public var dropsLast: Bool
    /// Batches prepared ahead of the consumer (at least 1).
    public var prefetch: Int
    /// Threads decoding one batch.
    public var workers: Int
    public var maximumPixelCount: Int

    public init(
        batchSize: Int, shuffles: Bool = false, seed: UInt64 = 0, epoch: Int = 0, augmentation: AugmentationConfig = .off,
        dropsLast: Bool = false, prefetch: Int = 2, workers: Int = ProcessInfo.processInfo.activeProcessorCount,
        maximumPixelCount: Int = DecodeOptions.defaultMaximumPixelCount
    ) {
        precondition(batchSize > 0 && prefetch > 0 && workers > 0, "batch size, prefetch and workers must be positive")
        self.batchSize = batchSize
        self.shuffles = shuffles
        self.seed = seed
        self.epoch = epoch
        self.augmentation = augmentation
        self.dropsLast = dropsLast
        self.prefetch = prefetch
        self.workers = workers
        self.maximumPixelCount = maximumPixelCount
    }
}

/// Produces the batches of one epoch in order on a background thread. Call ``next()`` until it returns nil;
/// ``cancel()`` (or dropping the loader) stops the producer.
public final class BatchLoader: @unchecked Sendable {
    let pipeline: BatchPipeline

    /// - Parameters:
    ///   - indices: which samples of `dataset` make up the epoch (for example a split's training indices).
    ///   - cache: reused across epochs when it matches `dataset.identifier` and `spec`; ignored otherwise.
    public init(dataset: Dataset, indices: [Int], spec: InputSpec, options: BatchLoaderOptions, cache: ImageCache? = nil) {
        pipeline = BatchPipeline(dataset: dataset, indices: indices, spec: spec, options: options, cache: cache)
        pipeline.start()
    }

    deinit { pipeline.cancel() }

    public var dataset: Dataset { pipeline.dataset }
    public var spec: InputSpec { pipeline.spec }
    public var options: BatchLoaderOptions { pipeline.options }
    /// The dataset indices in the order this epoch visits them.
    public var order: [Int] { pipeline.order }
    public var batchCount: Int { pipeline.batchCount }

    /// The next batch, waiting for it if it is still being prepared; nil after the last one. Throws the
    /// error of a sample that failed to load (its message names the file).
    public func next() throws -> Batch? { try pipeline.next() }

    /// Stops producing; pending and later ``next()`` calls return nil.
    public func cancel() { pipeline.cancel() }
}

/// The shared state of a ``BatchLoader`` and its producer thread. The thread holds only this object, never the
/// loader, so dropping the loader cancels the producer and lets both go.
final class BatchPipeline: @unchecked Sendable {
    let dataset: Dataset
    let spec: InputSpec
    let options: BatchLoaderOptions
    let order: [Int]
    let batchCount: Int
    private let cache: ImageCache?
    /// Signalled once when the producer thread has returned.
    let finished = DispatchSemaphore(value: 0)

    private let condition = NSCondition()
    private var ready: [Int: Result<Batch, Error>] = [:]
    private var nextToConsume = 0
    private var cancelled = false

    init(dataset: Dataset, indices: [Int], spec: InputSpec, options: BatchLoaderOptions, cache: ImageCache?) {
        self.dataset = dataset
        self.spec = spec
        self.options = options
        self.cache = cache?.matches(datasetIdentifier: dataset.identifier, spec: spec) == true ? cache : nil
        var order = indices
        if options.shuffles {
            var generator = SeededGenerator(seed: Self.mix(options.seed, UInt64(options.epoch), 0x5348_5546))
            DatasetSplit.shuffle(&order, using: &generator)
        }
        self.order = order
        batchCount = options.dropsLast ? order.count / options.batchSize
            : (order.count + options.batchSize - 1) / options.batchSize
    }

    func start() {
        let thread = Thread { [self] in
            produce()
            finished.signal()
        }
        thread.name = "graft.batch-loader"
        thread.start()
    }

    func next() throws -> Batch? {
        condition.lock()
        defer { condition.unlock() }
        guard nextToConsume < batchCount, !cancelled else { return nil }
        while ready[nextToConsume] == nil && !cancelled { condition.wait() }
        guard let result = ready.removeValue(forKey: nextToConsume) else { return nil }
        nextToConsume += 1
        condition.broadcast()  // a prefetch slot is free
        return try result.get()
    }

    /// Number of finished batches waiting for the consumer, after waiting up to `timeout` for at least
    /// `minimum` of them (for tests of the prefetch bound).
    func readyCount(waitingFor minimum: Int, timeout: TimeInterval) -> Int {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while ready.count < minimum && !cancelled && condition.wait(until: deadline) {}
        return ready.count
    }

    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }

    // MARK: - Producer

    private func produce() {
        for batchIndex in 0..<batchCount {
            condition.lock()
            while !cancelled && batchIndex - nextToConsume >= options.prefetch { condition.wait() }
            let stop = cancelled
            condition.unlock()
            if stop { break }
            let result = Result { try makeBatch(batchIndex) }
            condition.lock()
            ready[batchIndex] = result
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Decodes, preprocesses and normalises batch `batchIndex`; samples are spread over `workers` threads, each
    /// writing only its own slice of the tensor, so the result does not depend on scheduling.
    func makeBatch(_ batchIndex: Int) throws -> Batch {
        let start = batchIndex * options.batchSize
        let members = Array(order[start..<min(start + options.batchSize, order.count)])
        let sampleSize = spec.channels * spec.height * spec.width
        var tensor = Tensor(shape: [members.count, spec.channels, spec.height, spec.width])
        var errors = [Error?](repeating: nil, count: members.count)
        let workers = min(options.workers, members.count)
        tensor.scalars.withUnsafeMutableBufferPointer { scalars in
            errors.withUnsafeMutableBufferPointer { errorSlots in
                let scalarBase = scalars.baseAddress!, errorBase = errorSlots.baseAddress!
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    for position in stride(from: worker, to: members.count, by: workers) {
                        do {
                            let image = try preparedImage(sample: members[position], position: start + position)
                            spec.normalize(image, into: UnsafeMutableBufferPointer(start: scalarBase + position * sampleSize, count: sampleSize))
                        } catch {
                            errorBase[position] = error
                        }
                    }
                }
            }
        }
        if let error = errors.compactMap({ $0 }).first { throw error }
        return Batch(images: tensor, labels: members.map { dataset.samples[$0].label }, sampleIndices: members)
    }

    /// The spec-sized image for one sample: from the cache, or decoded (at the smallest DCT scale the spec
    /// allows), then augmented with a generator that depends only on seed, epoch and position.
    private func preparedImage(sample index: Int, position: Int) throws -> ByteImage {
        let augmentation = options.augmentation
        if !augmentation.enabled {
            if let cached = cache?.image(for: index, stage: .prepared) { return cached }
            let decoded = try dataset.loadImage(at: index, options: spec.decodeOptions(maximumPixelCount: options.maximumPixelCount))
            let prepared = spec.prepare(decoded)
            cache?.store(prepared, for: index, stage: .prepared)
            return prepared
        }
        // Random crops zoom in: keep twice the input size so crops still have detail.
        let workingSide = 2 * max(spec.width, spec.height)
        let stage = ImageCache.Stage.working(shorterSide: workingSide)
        let working: ByteImage
        if let cached = cache?.image(for: index, stage: stage) {
            working = cached
        } else {
            var options = spec.decodeOptions(maximumPixelCount: self.options.maximumPixelCount)
            options.minimumSize = (workingSide, workingSide)
            let decoded = try dataset.loadImage(at: index, options: options).converted(toChannels: spec.channels)
            let shorter = min(decoded.width, decoded.height)
            if shorter > workingSide {
                let scale = Double(workingSide) / Double(shorter)
                working = decoded.resized(
                    width: max(1, Int((Double(decoded.width) * scale).rounded())),
                    height: max(1, Int((Double(decoded.height) * scale).rounded())))
            } else {
                working = decoded
            }
            cache?.store(working, for: index, stage: stage)
        }
        var generator = SeededGenerator(seed: Self.mix(options.seed, UInt64(options.epoch), UInt64(position)))
        return spec.augment(working, config: augmentation, using: &generator)
    }

    /// Combines seed, epoch and position into one well-spread seed (SplitMix64 finaliser on each step).
    static func mix(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> UInt64 {
        func scramble(_ x: UInt64) -> UInt64 {
            var z = x &+ 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        return scramble(scramble(scramble(a) ^ b) ^ c)
    }
}
