/// One entry point for every kind of dataset source (folder, uploaded archive, IDX files, Fashion-MNIST) and the
/// train/validation datasets a run uses, honouring an explicit `val/` folder when the source has one.
import Foundation

/// Where a dataset comes from.
public enum DatasetSource: Sendable, Equatable {
    /// An ImageFolder layout on disk.
    case folder(URL)
    /// A zip, tar or tar.gz upload, extracted safely into `extractTo` (which must not exist yet).
    case archive(URL, extractTo: URL)
    /// IDX image and label files, optionally a class subset (original labels, in the order wanted) and a
    /// per-class limit.
    case idx(images: URL, labels: URL, classNames: [String]?, classes: [Int]?, perClassLimit: Int?)
    /// Debian's Fashion-MNIST (`train` or `t10k`).
    case fashionMNIST(split: String, classes: [Int]?, perClassLimit: Int?)
}

/// Settings for loading any ``DatasetSource``.
public struct DatasetLoader: Sendable {
    public var folder = ImageFolderSource()
    public var archiveLimits = ArchiveLimits()
    /// Free space of the extraction's file system; replaced in tests to simulate a disk filling up.
    public var space: ArchiveExtractor.SpaceProbe = { try FileSystemSpace.of($0) }

    public init() {}

    /// Loads the source and validates it. Throws for sources that cannot be read at all (a missing folder,
    /// a refused archive, a malformed IDX file); content problems are in the report.
    public func load(_ source: DatasetSource) throws -> LoadedDataset {
        switch source {
        case .folder(let url):
            return try folder.load(url)
        case .archive(let url, let destination):
            let summary = try ArchiveExtractor.extract(url, to: destination, limits: archiveLimits, space: space)
            var loaded = try folder.load(destination)
            // Entries never extracted (links, pipes, devices) are reported with the files the scan skipped.
            loaded.report.skipped = summary.skipped + loaded.report.skipped
            return loaded
        case .idx(let images, let labels, let classNames, let classes, let limit):
            let dataset = try IDXDataset.load(
                images: images, labels: labels, classNames: classNames, classes: classes, perClassLimit: limit)
            return LoadedDataset(training: dataset, validation: nil, report: IDXDataset.report(for: dataset, rules: folder.rules))
        case .fashionMNIST(let split, let classes, let limit):
            let dataset = try IDXDataset.fashionMNIST(split: split, classes: classes, perClassLimit: limit)
            return LoadedDataset(training: dataset, validation: nil, report: IDXDataset.report(for: dataset, rules: folder.rules))
        }
    }
}

extension LoadedDataset {
    /// Training and validation datasets for a run: the explicit `val/` folder when there is one, otherwise a
    /// stratified split of the training images by `validationFraction`, seeded by `seed`.
    public func trainingAndValidation(validationFraction: Double, seed: UInt64) -> (training: Dataset, validation: Dataset) {
        if let validation { return (training, validation) }
        let split = DatasetSplit.stratified(labels: training.labels, validationFraction: validationFraction, seed: seed)
        let tag = "split=\(validationFraction),seed=\(seed)"
        return (training.subset(split.training, identifierSuffix: "train," + tag),
                training.subset(split.validation, identifierSuffix: "val," + tag))
    }
}
