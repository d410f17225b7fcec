/// The uniform dataset abstraction every source produces: class names and a list of labelled samples, each
/// able to load its pixels.
import Foundation

/// Where one sample's pixels come from.
public enum SampleSource: Sendable, Equatable {
    /// An encoded image file (JPEG or PNG), decoded on demand.
    case file(URL)
    /// Pixels already in memory (IDX datasets).
    case pixels(ByteImage)
}

/// One labelled example.
public struct Sample: Sendable, Equatable {
    /// Index into ``Dataset/classNames``.
    public var label: Int
    public var source: SampleSource
    /// A human-readable name for reports and errors: a path relative to the dataset root, or `file[index]`.
    public var name: String

    public init(label: Int, source: SampleSource, name: String) {
        self.label = label
        self.source = source
        self.name = name
    }
}

/// A labelled image collection: classes in label order and the samples, in a deterministic order.
public struct Dataset: Sendable {
    /// Stable identity of the source (path and options), used to key caches of decoded images.
    public var identifier: String
    public var classNames: [String]
    public var samples: [Sample]

    public init(identifier: String, classNames: [String], samples: [Sample]) {
        precondition(samples.allSatisfy { classNames.indices.contains($0.label) }, "sample label outside class list")
        self.identifier = identifier
        self.classNames = classNames
        self.samples = samples
    }

    public var count: Int { samples.count }

    /// Number of samples per class, indexed by label.
    public var classCounts: [Int] {
        var counts = [Int](repeating: 0, count: classNames.count)
        for sample in samples { counts[sample.label] += 1 }
        return counts
    }

    /// Labels of all samples, in order.
    public var labels: [Int] { samples.map(\.label) }

    /// The decoded pixels of sample `index`. Files are decoded with `options` (pixel cap, channel count and
    /// DCT-scaling hint); in-memory pixels are returned as they are.
    public func loadImage(at index: Int, options: DecodeOptions = DecodeOptions()) throws -> ByteImage {
        switch samples[index].source {
        case .file(let url): return try ImageDecoder.decode(contentsOf: url, options: options)
        case .pixels(let image): return image
        }
    }

    /// The same classes with only the samples at `indices`, in that order.
    public func subset(_ indices: [Int], identifierSuffix: String? = nil) -> Dataset {
        Dataset(
            identifier: identifierSuffix.map { identifier + "#" + $0 } ?? identifier,
            classNames: classNames, samples: indices.map { samples[$0] })
    }
}
