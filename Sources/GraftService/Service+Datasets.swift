// Bringing datasets in: an uploaded archive (extracted and validated) or a folder under the data root.
import Foundation
import NeuralNetwork
import ImageData

extension Service {
    /// Extracts an uploaded zip or tar(.gz) into the datasets folder, validates it and registers it.
    ///
    /// The archive is consumed (moved, then removed once extracted). Nothing is left behind on failure: an
    /// unreadable or unsafe archive, or a dataset whose report has errors, is a 422 naming the problem; a disk
    /// too full for its contents (checked before extracting, or hit while writing) is a 507. `space` reads
    /// the free space of the datasets folder's file system (tests make it lie to fill a real disk).
    public func importDatasetArchive(
        at archive: URL, name: String?, space: @escaping ArchiveExtractor.SpaceProbe = { try FileSystemSpace.of($0) }
    ) throws -> (DatasetRecord, ValidationReport) {
        let id = makeIdentifier(prefix: "dataset")
        let kept = configuration.datasetsDirectory.appendingPathComponent(id + ".upload")
        let destination = configuration.datasetsDirectory.appendingPathComponent(id, isDirectory: true)
        defer { try? FileManager.default.removeItem(at: kept) }
        do {
            try FileManager.default.moveItem(at: archive, to: kept)
        } catch {
            throw ServiceError.storage(message: "Cannot store the upload under \(kept.path): \(error).")
        }
        var loader = DatasetLoader()
        loader.folder.verifiesPixels = true
        loader.space = space
        let loaded: LoadedDataset
        do {
            loaded = try loader.load(.archive(kept, extractTo: destination))
        } catch let error as ImageDataError {
            try? FileManager.default.removeItem(at: destination)
            switch error {
            case .insufficientSpace, .diskFull:
                throw ServiceError.insufficientStorage(message: error.description + ".")
            case .io:
                throw ServiceError.storage(message: "Cannot extract the upload: \(error).")
            default:
                throw ServiceError.invalid(field: "body", message: error.description)
            }
        }
        do {
            // Hashed only once accepted: a refused archive (a bomb, up to the upload limit) costs no hashing.
            let hash = try SHA256.hexDigest(ofFileAt: kept)
            return try register(loaded, id: id, name: name ?? id, source: .upload, path: destination, hash: hash)
        } catch {
            try? FileManager.default.removeItem(at: destination)
            throw error
        }
    }

    /// Validates and registers a folder named relative to `configuration.datasetRoot` (never outside it).
    public func registerDatasetFolder(relativePath: String, name: String?) throws -> (DatasetRecord, ValidationReport) {
        guard let root = configuration.datasetRoot else {
            throw ServiceError.invalid(field: "folder", message:
                "This server has no data root, so it cannot use folders; upload a zip or tar.gz, or start it with "
                + "a data root.")
        }
        let rootPath = root.standardizedFileURL.resolvingSymlinksInPath().path
        let folder = root.appendingPathComponent(relativePath, isDirectory: true)
            .standardizedFileURL.resolvingSymlinksInPath()
        guard !relativePath.hasPrefix("/"), folder.path.hasPrefix(rootPath + "/") else {
            throw ServiceError.invalid(field: "folder", message:
                "'\(relativePath)' is not inside the data root; name a folder relative to it.")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ServiceError.invalid(field: "folder", message: "There is no folder '\(relativePath)' in the data root.")
        }
        let loaded: LoadedDataset
        do {
            loaded = try DatasetLoader().load(.folder(folder))
        } catch let error as ImageDataError {
            throw ServiceError.invalid(field: "folder", message: error.description)
        }
        return try register(loaded, id: makeIdentifier(prefix: "dataset"), name: name ?? folder.lastPathComponent,
                            source: .folder, path: folder, hash: nil)
    }

    private func register(_ loaded: LoadedDataset, id: String, name: String, source: DatasetRecord.Source, path: URL,
                          hash: String?) throws -> (DatasetRecord, ValidationReport) {
        let report = loaded.report
        guard report.isUsable else {
            let problems = report.errors.map(\.message).joined(separator: "; ")
            throw ServiceError.invalid(field: source == .upload ? "body" : "folder", message:
                "The dataset cannot be used: \(problems). Fix the folders and upload again.")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let reportJSON = String(decoding: try encoder.encode(report), as: UTF8.self)
        let labels = String(decoding: try encoder.encode(loaded.training.classNames), as: UTF8.self)
        let record = DatasetRecord(id: id, name: name, source: source, path: path.path, contentHash: hash,
                                   classCount: loaded.training.classNames.count, imageCount: report.imageCount,
                                   labelsJSON: labels, reportJSON: reportJSON)
        try store.insertDataset(record)
        return (record, report)
    }
}
