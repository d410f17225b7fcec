/// IDX files (the MNIST family, gzipped or not) as a dataset source, with a class subset and a per-class limit;
/// Fashion-MNIST from Debian's `dataset-fashion-mnist` is the standard example.
import Foundation
import Tensors

/// One IDX array: unsigned bytes with their dimensions (only the 0x08 element type is accepted).
public struct IDXArray: Sendable, Equatable {
    public var dimensions: [Int]
    public var bytes: [UInt8]

    /// Parses IDX bytes (gzip-compressed or plain). `name` labels errors; `maximumBytes` caps the expanded size.
    ///
    /// An IDX file is a 4-byte magic (two zero bytes, the element type, the rank), one big-endian UInt32 extent
    /// per dimension, then the elements in row-major order.
    public static func parse(_ data: Data, name: String, maximumBytes: Int = 1 << 30) throws -> IDXArray {
        let raw = data.starts(with: [0x1F, 0x8B])
            ? ByteView(try gunzip(data, name: name, maximumBytes: maximumBytes)) : ByteView(data)
        func invalid(_ reason: String) -> ImageDataError { .invalidIDX(file: name, reason: reason) }
        guard raw.count >= 4 else { throw invalid("shorter than its 4-byte magic") }
        guard raw[0] == 0, raw[1] == 0 else { throw invalid("magic must start with two zero bytes") }
        guard raw[2] == 0x08 else {
            throw invalid(String(format: "element type 0x%02x; only unsigned bytes (0x08) are supported", raw[2]))
        }
        let rank = Int(raw[3])
        guard rank >= 1, raw.count >= 4 + 4 * rank else {
            throw invalid("header declares \(rank) dimensions but is too short")
        }
        do {
            var header = ByteReader(raw, offset: 4)
            var dimensions: [Int] = []
            var total = 1
            for axis in 0..<rank {
                let size = Int(try header.integer(UInt32.self, .bigEndian, "the extent of dimension \(axis)"))
                dimensions.append(size)
                let (product, overflow) = total.multipliedReportingOverflow(by: size)
                guard !overflow, product <= maximumBytes else {
                    throw invalid("dimensions \(dimensions) exceed the size limit")
                }
                total = product
            }
            guard header.remaining == total else {
                throw invalid("dimensions \(dimensions) need \(total) bytes of data, found \(header.remaining)")
            }
            return IDXArray(dimensions: dimensions, bytes: try header.bytes(total, "the elements").bytes)
        } catch let error as ByteReadError {
            throw invalid(error.description)
        }
    }

    public static func read(_ url: URL, maximumBytes: Int = 1 << 30) throws -> IDXArray {
        try parse(try ImageDecoder.readFile(url), name: url.lastPathComponent, maximumBytes: maximumBytes)
    }
}

/// Builds datasets from an IDX image file (N×H×W) and its label file (N).
public enum IDXDataset {
    /// Fashion-MNIST's ten class names, by label.
    public static let fashionMNISTClassNames = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]

    /// Where Debian's `dataset-fashion-mnist` installs the files.
    public static let fashionMNISTFolder = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")

    /// The Fashion-MNIST `train` or `t10k` split from `folder`.
    public static func fashionMNIST(
        split: String = "train", folder: URL = fashionMNISTFolder, classes: [Int]? = nil, perClassLimit: Int? = nil
    ) throws -> Dataset {
        try load(
            images: folder.appendingPathComponent("\(split)-images-idx3-ubyte.gz"),
            labels: folder.appendingPathComponent("\(split)-labels-idx1-ubyte.gz"),
            classNames: fashionMNISTClassNames, classes: classes, perClassLimit: perClassLimit)
    }

    /// A dataset of grey images from IDX files. `classes` keeps only those original labels (renumbered
    /// 0, 1, … in the given order); `perClassLimit` keeps the first n of each class in file order.
    public static func load(
        images: URL, labels: URL, classNames: [String]? = nil, classes: [Int]? = nil, perClassLimit: Int? = nil
    ) throws -> Dataset {
        let imageArray = try IDXArray.read(images)
        let labelArray = try IDXArray.read(labels)
        return try make(
            images: imageArray, labels: labelArray, imagesName: images.lastPathComponent,
            identifier: "idx:\(images.standardizedFileURL.path)", classNames: classNames, classes: classes,
            perClassLimit: perClassLimit)
    }

    /// The same from parsed arrays.
    public static func make(
        images: IDXArray, labels: IDXArray, imagesName: String, identifier: String, classNames: [String]? = nil,
        classes: [Int]? = nil, perClassLimit: Int? = nil
    ) throws -> Dataset {
        guard images.dimensions.count == 3 else {
            throw ImageDataError.invalidIDX(file: imagesName, reason: "images must be N×H×W, found \(images.dimensions)")
        }
        guard labels.dimensions.count == 1, labels.dimensions[0] == images.dimensions[0] else {
            throw ImageDataError.invalidIDX(
                file: imagesName, reason: "\(images.dimensions[0]) images but labels have shape \(labels.dimensions)")
        }
        let count = images.dimensions[0], height = images.dimensions[1], width = images.dimensions[2]
        let maxLabel = Int(labels.bytes.max() ?? 0)
        let names = classNames ?? (0...maxLabel).map(String.init)
        guard maxLabel < names.count else {
            throw ImageDataError.invalidIDX(file: imagesName, reason: "label \(maxLabel) has no class name (\(names.count) names)")
        }
        let kept = classes ?? Array(names.indices)
        guard Set(kept).count == kept.count, kept.allSatisfy({ names.indices.contains($0) }) else {
            throw ImageDataError.invalidDataset(reason: "class subset \(kept) must list distinct labels in 0..<\(names.count)")
        }
        if let perClassLimit, perClassLimit < 1 {
            throw ImageDataError.invalidDataset(reason: "per-class limit must be at least 1, got \(perClassLimit)")
        }
        var newLabel = [Int: Int]()
        for (index, original) in kept.enumerated() { newLabel[original] = index }
        var taken = [Int](repeating: 0, count: kept.count)
        var samples: [Sample] = []
        let plane = height * width
        for index in 0..<count {
            guard let label = newLabel[Int(labels.bytes[index])] else { continue }
            if let perClassLimit, taken[label] >= perClassLimit { continue }
            taken[label] += 1
            let pixels = Array(images.bytes[(index * plane)..<((index + 1) * plane)])
            samples.append(Sample(
                label: label, source: .pixels(ByteImage(width: width, height: height, channels: 1, pixels: pixels)),
                name: "\(imagesName)[\(index)]"))
        }
        let subsetTag = classes.map { "classes=" + $0.map(String.init).joined(separator: ",") } ?? "all"
        return Dataset(
            identifier: "\(identifier)#\(subsetTag)#limit=\(perClassLimit.map(String.init) ?? "none")",
            classNames: kept.map { names[$0] }, samples: samples)
    }

    /// The validation report of an IDX dataset (no files are skipped; classes and counts, warnings, errors).
    public static func report(for dataset: Dataset, rules: ValidationRules = ValidationRules()) -> ValidationReport {
        var report = ValidationReport()
        var tiny: [String] = []
        for sample in dataset.samples {
            if case .pixels(let image) = sample.source, min(image.width, image.height) < rules.minimumImageSide {
                tiny.append(sample.name)
            }
        }
        report.summarise(
            classNames: dataset.classNames, counts: dataset.classCounts, validationCounts: nil, tinyImages: tiny, rules: rules)
        return report
    }
}
