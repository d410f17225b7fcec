/// An in-memory cache of decoded, resized images for one dataset and input spec, so that later epochs skip
/// JPEG decoding. Thread-safe; bounded by a byte budget (images beyond it are simply not cached).
import Foundation
import Tensors

/// Decoded images of one dataset under one input spec, keyed by sample index.
public final class ImageCache: @unchecked Sendable {
    /// What the cached images are: final model-input size, or larger working copies for augmentation.
    public enum Stage: Hashable, Sendable {
        /// Exactly ``InputSpec/prepare(_:)`` of the decoded image.
        case prepared
        /// Channels converted and, if larger, downscaled so the shorter side is at most `shorterSide`.
        case working(shorterSide: Int)
    }

    public let datasetIdentifier: String
    public let spec: InputSpec
    public let capacityBytes: Int
    private let lock = NSLock()
    private var images: [Stage: [Int: ByteImage]] = [:]
    private var usedBytes = 0

    public init(datasetIdentifier: String, spec: InputSpec, capacityBytes: Int = 2 << 30) {
        self.datasetIdentifier = datasetIdentifier
        self.spec = spec
        self.capacityBytes = capacityBytes
    }

    /// Whether this cache holds images for `dataset` under `spec`.
    public func matches(datasetIdentifier: String, spec: InputSpec) -> Bool {
        self.datasetIdentifier == datasetIdentifier && self.spec == spec
    }

    public func image(for index: Int, stage: Stage) -> ByteImage? {
        lock.lock()
        defer { lock.unlock() }
        return images[stage]?[index]
    }

    public func store(_ image: ByteImage, for index: Int, stage: Stage) {
        lock.lock()
        defer { lock.unlock() }
        guard images[stage]?[index] == nil, usedBytes + image.pixels.count <= capacityBytes else { return }
        images[stage, default: [:]][index] = image
        usedBytes += image.pixels.count
    }

    /// Number of cached images over all stages.
    public var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return images.values.reduce(0) { $0 + $1.count }
    }

    public var bytes: Int {
        lock.lock()
        defer { lock.unlock() }
        return usedBytes
    }
}
