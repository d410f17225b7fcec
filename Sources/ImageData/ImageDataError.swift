/// The one error type of ImageData: every failure on files, archives and datasets, with a message that says
/// what went wrong, where, and what to do.
import Foundation

/// Errors from decoding images, reading dataset sources and extracting archives.
public enum ImageDataError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file or buffer holds no bytes at all.
    case emptyFile(file: String?)
    /// The bytes are not a JPEG or PNG image (for example a text file named `.jpg`).
    case unsupportedFormat(file: String?, reason: String)
    /// The image stops before its end.
    case truncated(file: String?, reason: String)
    /// The codec rejected the data (bad CRC, bad marker, impossible header).
    case corrupt(file: String?, reason: String)
    /// The header declares more pixels than the configured cap allows (decompression bomb).
    case tooManyPixels(file: String?, width: Int, height: Int, limit: Int)
    /// Decoding would allocate more pixels than the caller's budget even at the smallest scale the codec
    /// offers (`width`×`height` is that scaled size; PNG and progressive JPEG cannot scale).
    case decodeBudgetExceeded(file: String?, width: Int, height: Int, limit: Int)
    /// A file could not be read or written.
    case io(path: String, reason: String)
    /// The destination's file system has too little free space for the archive's expanded contents.
    case insufficientSpace(archive: String, path: String, needed: Int64, available: Int64)
    /// The disk filled up (ENOSPC, EDQUOT) while writing; what was written has been removed.
    case diskFull(path: String, reason: String)
    /// An archive entry would escape the destination or is not a plain file or folder.
    case unsafeArchiveEntry(archive: String, entry: String, reason: String)
    /// The archive exceeds one of the extraction caps.
    case archiveLimitExceeded(archive: String, reason: String)
    /// The archive cannot be read at all.
    case unreadableArchive(archive: String, reason: String)
    /// An IDX file is malformed or does not match its partner file.
    case invalidIDX(file: String, reason: String)
    /// A dataset cannot be used as asked (no classes, bad configuration).
    case invalidDataset(reason: String)

    public var description: String {
        func name(_ file: String?) -> String { file.map { "'\($0)'" } ?? "image data" }
        switch self {
        case .emptyFile(let file):
            return "\(name(file)) is empty (0 bytes); re-export or remove the file"
        case .unsupportedFormat(let file, let reason):
            return "\(name(file)) is not a supported image (\(reason)); only JPEG and PNG are read"
        case .truncated(let file, let reason):
            return "\(name(file)) is truncated (\(reason)); the file was probably cut off during copy or upload"
        case .corrupt(let file, let reason):
            return "\(name(file)) is corrupt (\(reason)); re-export or remove the file"
        case .tooManyPixels(let file, let width, let height, let limit):
            return "\(name(file)) declares \(width)×\(height) pixels, more than the limit of \(limit) "
                + "(possible decompression bomb); downscale the image before uploading"
        case .decodeBudgetExceeded(let file, let width, let height, let limit):
            return "\(name(file)) needs \(width)×\(height) pixels to decode even at its smallest scale, more than "
                + "the \(limit) allowed here; downscale it (a model whose input spec sets \"fast_jpeg\" decodes "
                + "baseline JPEGs scaled down)"
        case .io(let path, let reason):
            return "cannot access '\(path)': \(reason)"
        case .insufficientSpace(let archive, let path, let needed, let available):
            return "archive '\(archive)' was not extracted: it needs \(bytes(needed)) under '\(path)' (its expanded "
                + "contents plus a safety margin) but only \(bytes(available)) are free; free disk space or upload a "
                + "smaller dataset"
        case .diskFull(let path, let reason):
            return "the disk filled up while writing '\(path)' (\(reason)); nothing was kept — free disk space and "
                + "try again"
        case .unsafeArchiveEntry(let archive, let entry, let reason):
            return "archive '\(archive)' was rejected: entry '\(entry)' \(reason); "
                + "pack only plain files and folders with relative paths"
        case .archiveLimitExceeded(let archive, let reason):
            return "archive '\(archive)' was rejected: \(reason); split the dataset or raise the limit"
        case .unreadableArchive(let archive, let reason):
            return "archive '\(archive)' cannot be read (\(reason)); upload a zip, tar or tar.gz file"
        case .invalidIDX(let file, let reason):
            return "IDX file '\(file)' is invalid: \(reason)"
        case .invalidDataset(let reason):
            return "dataset is not usable: \(reason)"
        }
    }
}

/// "1536 bytes (1.5 KiB)": exact for programs, readable for people.
private func bytes(_ count: Int64) -> String {
    let units = ["KiB", "MiB", "GiB", "TiB"]
    var value = Double(count), unit = -1
    while value >= 1024, unit < units.count - 1 { value /= 1024; unit += 1 }
    return unit < 0 ? "\(count) bytes" : "\(count) bytes (\(String(format: "%.1f", value)) \(units[unit]))"
}

extension ImageDataError: LocalizedError {
    public var errorDescription: String? { description }
}
