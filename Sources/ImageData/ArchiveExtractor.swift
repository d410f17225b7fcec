/// Safe extraction of uploaded dataset archives (zip, tar, tar.gz) through libarchive: only plain files and
/// folders with relative paths, and caps on entry count, single-file size and total expanded size.
import CArchive
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Caps that keep a hostile archive from filling the disk or the inode table. Defaults suit image datasets.
public struct ArchiveLimits: Sendable, Equatable, Codable {
    /// Entries (files and folders) in the archive.
    public var maximumEntries: Int
    /// Expanded bytes of any single file.
    public var maximumFileSize: Int64
    /// Expanded bytes of all files together.
    public var maximumTotalSize: Int64
    /// Characters of any entry path.
    public var maximumPathLength: Int

    public init(
        maximumEntries: Int = 200_000, maximumFileSize: Int64 = 256 << 20, maximumTotalSize: Int64 = 8 << 30,
        maximumPathLength: Int = 1024
    ) {
        self.maximumEntries = maximumEntries
        self.maximumFileSize = maximumFileSize
        self.maximumTotalSize = maximumTotalSize
        self.maximumPathLength = maximumPathLength
    }

    enum CodingKeys: String, CodingKey {
        case maximumEntries = "maximum_entries", maximumFileSize = "maximum_file_size"
        case maximumTotalSize = "maximum_total_size", maximumPathLength = "maximum_path_length"
    }
}

/// What an extraction produced.
public struct ExtractionSummary: Sendable, Equatable {
    public var files: Int
    public var folders: Int
    public var bytes: Int64
}

/// Extracts archives into a fresh folder, refusing the whole archive at the first unsafe entry.
public enum ArchiveExtractor {
    private static let typeMask: UInt32 = 0o170000
    private static let regularFile: UInt32 = 0o100000
    private static let directory: UInt32 = 0o040000

    /// Extracts `archive` into `destination`, which must not exist yet. On any error the partly extracted
    /// destination is removed and the error names the archive, the entry and the reason.
    @discardableResult
    public static func extract(_ archive: URL, to destination: URL, limits: ArchiveLimits = ArchiveLimits()) throws
        -> ExtractionSummary
    {
        let name = archive.lastPathComponent
        guard !FileManager.default.fileExists(atPath: destination.path) else {
            throw ImageDataError.io(path: destination.path, reason: "extraction target already exists")
        }
        do {
            try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
        } catch {
            throw ImageDataError.io(path: destination.path, reason: (error as NSError).localizedDescription)
        }
        do {
            return try extractEntries(archive, name: name, to: destination.standardizedFileURL, limits: limits)
        } catch {
            try? FileManager.default.removeItem(at: destination)
            throw error
        }
    }

    private static func extractEntries(_ archive: URL, name: String, to destination: URL, limits: ArchiveLimits) throws
        -> ExtractionSummary
    {
        guard let reader = archive_read_new() else {
            throw ImageDataError.unreadableArchive(archive: name, reason: "cannot create a reader")
        }
        defer { archive_read_free(reader) }
        archive_read_support_filter_gzip(reader)
        archive_read_support_format_zip(reader)
        archive_read_support_format_tar(reader)
        guard archive_read_open_filename(reader, archive.path, 1 << 16) == ARCHIVE_OK else {
            throw ImageDataError.unreadableArchive(archive: name, reason: errorString(reader))
        }
        var summary = ExtractionSummary(files: 0, folders: 0, bytes: 0)
        var entryCount = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            var entry: OpaquePointer?
            let status = archive_read_next_header(reader, &entry)
            if status == ARCHIVE_EOF { break }
            guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry else {
                throw ImageDataError.unreadableArchive(archive: name, reason: errorString(reader))
            }
            entryCount += 1
            if entryCount > limits.maximumEntries {
                throw ImageDataError.archiveLimitExceeded(
                    archive: name, reason: "it has more than \(limits.maximumEntries) entries")
            }
            let rawPath = archive_entry_pathname_utf8(entry).map { String(cString: $0) }
                ?? archive_entry_pathname(entry).map { String(cString: $0) }
            guard let rawPath else {
                throw ImageDataError.unsafeArchiveEntry(archive: name, entry: "#\(entryCount)", reason: "has no path")
            }
            let components = try safeComponents(rawPath, archive: name, limits: limits)
            if archive_entry_hardlink(entry) != nil {
                throw ImageDataError.unsafeArchiveEntry(archive: name, entry: rawPath, reason: "is a hard link")
            }
            if archive_entry_symlink(entry) != nil {
                throw ImageDataError.unsafeArchiveEntry(archive: name, entry: rawPath, reason: "is a symbolic link")
            }
            let type = UInt32(archive_entry_filetype(entry)) & typeMask
            if components.isEmpty { continue }  // "./" itself
            let target = components.reduce(destination) { $0.appendingPathComponent($1) }
            switch type {
            case directory:
                try makeFolder(target)
                summary.folders += 1
            case regularFile:
                if archive_entry_size_is_set(entry) != 0 && archive_entry_size(entry) > limits.maximumFileSize {
                    throw ImageDataError.archiveLimitExceeded(
                        archive: name, reason: "entry '\(rawPath)' is larger than \(limits.maximumFileSize) bytes")
                }
                try makeFolder(target.deletingLastPathComponent())
                summary.bytes += try writeFile(
                    reader, to: target, entryName: rawPath, archive: name, limits: limits,
                    alreadyWritten: summary.bytes, buffer: &buffer)
                summary.files += 1
            default:
                throw ImageDataError.unsafeArchiveEntry(
                    archive: name, entry: rawPath, reason: "is not a regular file or folder (device, pipe or link)")
            }
        }
        return summary
    }

    /// The path's components after dropping `.`; throws for absolute paths, `..`, drive letters and overlong paths.
    static func safeComponents(_ path: String, archive: String, limits: ArchiveLimits) throws -> [String] {
        func reject(_ reason: String) -> ImageDataError { .unsafeArchiveEntry(archive: archive, entry: path, reason: reason) }
        if path.count > limits.maximumPathLength { throw reject("has a path longer than \(limits.maximumPathLength) characters") }
        if path.hasPrefix("/") || path.hasPrefix("\\") { throw reject("has an absolute path") }
        if path.count >= 2, path.dropFirst().first == ":", path.first!.isLetter { throw reject("has a drive-letter path") }
        if path.contains("\0") { throw reject("has a NUL byte in its path") }
        let components = path.split(whereSeparator: { $0 == "/" || $0 == "\\" }).map(String.init)
        if components.contains("..") { throw reject("climbs out of the folder with '..'") }
        return components.filter { $0 != "." }
    }

    private static func makeFolder(_ url: URL) throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw ImageDataError.io(path: url.path, reason: (error as NSError).localizedDescription)
        }
    }

    /// Streams the current entry's data into a new file, counting the real expanded bytes (headers may lie).
    private static func writeFile(
        _ reader: OpaquePointer, to target: URL, entryName: String, archive: String, limits: ArchiveLimits,
        alreadyWritten: Int64, buffer: inout [UInt8]
    ) throws -> Int64 {
        // O_EXCL: a second entry with the same path is refused; O_NOFOLLOW: never write through a link.
        let descriptor = open(target.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            let reason = errno == EEXIST ? "appears twice" : "cannot be created (\(String(cString: strerror(errno))))"
            throw ImageDataError.unsafeArchiveEntry(archive: archive, entry: entryName, reason: reason)
        }
        defer { close(descriptor) }
        var written: Int64 = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { archive_read_data(reader, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                throw ImageDataError.unreadableArchive(archive: archive, reason: "\(entryName): \(errorString(reader))")
            }
            written += Int64(count)
            if written > limits.maximumFileSize {
                throw ImageDataError.archiveLimitExceeded(
                    archive: archive, reason: "entry '\(entryName)' expands to more than \(limits.maximumFileSize) bytes")
            }
            if alreadyWritten + written > limits.maximumTotalSize {
                throw ImageDataError.archiveLimitExceeded(
                    archive: archive, reason: "contents expand to more than \(limits.maximumTotalSize) bytes")
            }
            var offset = 0
            while offset < count {
                let result = buffer.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, count - offset) }
                if result < 0 {
                    throw ImageDataError.io(path: target.path, reason: String(cString: strerror(errno)))
                }
                offset += result
            }
        }
        return written
    }

    static func errorString(_ archive: OpaquePointer) -> String {
        archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
    }
}
