// The background batch loader: same tensors as the direct path, deterministic for a seed whatever the thread
// count, errors surfaced with the file name, caching, cancellation.
import CPNG
import Foundation
import Tensors
import Testing

@testable import ImageData

@Suite struct BatchLoaderTests {
    static let spec = InputSpec(channels: 3, height: 16, width: 16, mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3])

    /// 10 in-memory images of varied sizes, labels 0/1 alternating.
    static func memoryDataset() -> Dataset {
        let samples = (0..<10).map { i in
            Sample(
                label: i % 2,
                source: .pixels(TestImages.noise(width: 20 + i, height: 18 + 2 * i, channels: i % 3 == 0 ? 1 : 3, seed: UInt64(i))),
                name: "m\(i)")
        }
        return Dataset(identifier: "memory:test", classNames: ["even", "odd"], samples: samples)
    }

    static func drain(_ loader: BatchLoader) throws -> [Batch] {
        var batches: [Batch] = []
        while let batch = try loader.next() { batches.append(batch) }
        return batches
    }

    @Test func batchesMatchTheDirectPath() throws {
        let dataset = Self.memoryDataset()
        let indices = [9, 0, 3, 4, 7, 1, 2]
        let loader = BatchLoader(dataset: dataset, indices: indices, spec: Self.spec, options: BatchLoaderOptions(batchSize: 3))
        let batches = try Self.drain(loader)
        #expect(batches.map(\.sampleIndices) == [[9, 0, 3], [4, 7, 1], [2]])
        #expect(batches.flatMap(\.labels) == indices.map { $0 % 2 })
        for batch in batches {
            let expected = Self.spec.batch(try batch.sampleIndices.map { try dataset.loadImage(at: $0) })
            #expect(batch.images == expected)
        }
        #expect(try loader.next() == nil)
    }

    @Test func shuffledAugmentedEpochsAreReproducibleAcrossThreadCounts() throws {
        let dataset = Self.memoryDataset()
        func run(workers: Int, epoch: Int, seed: UInt64 = 7) throws -> [Batch] {
            let options = BatchLoaderOptions(
                batchSize: 4, shuffles: true, seed: seed, epoch: epoch, augmentation: .standard, dropsLast: true, prefetch: 1,
                workers: workers)
            return try Self.drain(BatchLoader(dataset: dataset, indices: Array(0..<10), spec: Self.spec, options: options))
        }
        let one = try run(workers: 1, epoch: 0), two = try run(workers: 2, epoch: 0), three = try run(workers: 3, epoch: 0)
        #expect(one.count == 2)  // 10 samples, batches of 4, last dropped
        #expect(one.map(\.sampleIndices) == two.map(\.sampleIndices) && two.map(\.sampleIndices) == three.map(\.sampleIndices))
        #expect(one.map(\.images) == two.map(\.images) && two.map(\.images) == three.map(\.images))
        let nextEpoch = try run(workers: 2, epoch: 1)
        #expect(nextEpoch.map(\.sampleIndices) != one.map(\.sampleIndices))
        let otherSeed = try run(workers: 2, epoch: 0, seed: 8)
        #expect(otherSeed.map(\.images) != one.map(\.images))
    }

    @Test func brokenFileSurfacesAsTheBatchError() throws {
        let folder = TestImages.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let good = folder.appendingPathComponent("good.png"), bad = folder.appendingPathComponent("bad.jpg")
        try TestImages.png(width: 8, height: 8, format: UInt32(PNG_FORMAT_GRAY), pixels: [UInt8](repeating: 50, count: 64)).write(to: good)
        let jpeg = TestImages.jpeg(TestImages.noise(width: 64, height: 64, channels: 3, seed: 3))
        try jpeg.prefix(200).write(to: bad)
        let dataset = Dataset(
            identifier: "files", classNames: ["a", "b"],
            samples: [.init(label: 0, source: .file(good), name: "good.png"), .init(label: 1, source: .file(bad), name: "bad.jpg")])
        let loader = BatchLoader(dataset: dataset, indices: [0, 1], spec: Self.spec, options: BatchLoaderOptions(batchSize: 1))
        #expect(try loader.next()?.labels == [0])
        #expect {
            try loader.next()
        } throws: { error in
            (error as? ImageDataError)?.description.contains("bad.jpg") == true
        }
        #expect(try loader.next() == nil)
    }

    @Test func cacheFillsOnceAndGivesIdenticalBatches() throws {
        let dataset = Self.memoryDataset()
        let cache = ImageCache(datasetIdentifier: dataset.identifier, spec: Self.spec)
        let options = BatchLoaderOptions(batchSize: 5)
        let first = try Self.drain(BatchLoader(dataset: dataset, indices: Array(0..<10), spec: Self.spec, options: options, cache: cache))
        #expect(cache.count == 10 && cache.bytes == 10 * 16 * 16 * 3)
        let second = try Self.drain(BatchLoader(dataset: dataset, indices: Array(0..<10), spec: Self.spec, options: options, cache: cache))
        #expect(first.map(\.images) == second.map(\.images))
        // A cache made for another spec is ignored rather than misused.
        var other = Self.spec
        other.width = 8
        let foreign = ImageCache(datasetIdentifier: dataset.identifier, spec: other)
        _ = try Self.drain(BatchLoader(dataset: dataset, indices: [0], spec: Self.spec, options: options, cache: foreign))
        #expect(foreign.count == 0)
        let tiny = ImageCache(datasetIdentifier: dataset.identifier, spec: Self.spec, capacityBytes: 16 * 16 * 3 * 2)
        _ = try Self.drain(BatchLoader(dataset: dataset, indices: Array(0..<10), spec: Self.spec, options: options, cache: tiny))
        #expect(tiny.count == 2)
    }

    @Test func cancelStopsTheLoader() throws {
        let dataset = Self.memoryDataset()
        let loader = BatchLoader(
            dataset: dataset, indices: Array(0..<10), spec: Self.spec, options: BatchLoaderOptions(batchSize: 1, prefetch: 1))
        #expect(try loader.next() != nil)
        loader.cancel()
        #expect(try loader.next() == nil)
    }
}

@Suite struct BatchLoaderLifetimeTests {
    @Test func droppingAnUndrainedLoaderStopsItsThread() throws {
        weak var weakLoader: BatchLoader?
        let pipeline: BatchPipeline
        do {
            let loader = BatchLoader(
                dataset: BatchLoaderTests.memoryDataset(), indices: Array(0..<10), spec: BatchLoaderTests.spec,
                options: BatchLoaderOptions(batchSize: 1, prefetch: 1))
            weakLoader = loader
            pipeline = loader.pipeline
            _ = try loader.next()
        }
        #expect(weakLoader == nil)
        // The producer was waiting for a free prefetch slot; the loader's deinit must have woken and ended it.
        // (A generous liveness bound, not a performance limit.)
        #expect(pipeline.finished.wait(timeout: .now() + 60) == .success)
    }
}

@Suite struct BatchLoaderPrefetchTests {
    @Test func prefetchRunsAheadOfTheConsumerButStaysBounded() throws {
        let loader = BatchLoader(
            dataset: BatchLoaderTests.memoryDataset(), indices: Array(0..<10), spec: BatchLoaderTests.spec,
            options: BatchLoaderOptions(batchSize: 1, prefetch: 3))
        // Nobody has asked for a batch yet, and three are prepared in the background (liveness bound only).
        #expect(loader.pipeline.readyCount(waitingFor: 3, timeout: 60) == 3)
        // Asking for more than the bound never happens: the producer waits for a free slot.
        #expect(loader.pipeline.readyCount(waitingFor: 4, timeout: 0.3) == 3)
        #expect(try loader.next()?.sampleIndices == [0])
        #expect(loader.pipeline.readyCount(waitingFor: 3, timeout: 60) == 3)
        var seen = [0]
        while let batch = try loader.next() { seen += batch.sampleIndices }
        #expect(seen == Array(0..<10))
    }
}
