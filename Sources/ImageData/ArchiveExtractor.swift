/// Safe extraction of uploaded dataset archives (zip, tar, tar.gz) through libarchive: a first pass reads every
/// header and refuses the archive before anything is written; the second pass writes only plain files and
/// folders with relative paths, each held to the size the first pass found, and removes everything on failure.
import CArchive
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Extracts archives into a fresh folder, refusing the whole archive at the first unsafe entry.
public enum ArchiveExtractor {
    /// Tells how much room the destination's file system has. Tests replace it to simulate a disk that fills
    /// up after the check (another writer), which the extraction must still survive cleanly.
    public typealias SpaceProbe = @Sendable (URL) throws -> FileSystemSpace

    /// Extracts `archive` into `destination`, which must not exist yet.
    ///
    /// Before writing anything, every header is read: entry count, paths, types, declared sizes, the expanded
    /// total and its ratio to the archive's size, then the free space of the destination's file system. Links,
    /// pipes and devices are skipped and listed in the summary. On any error the partly extracted destination
    /// is removed and the error names the archive, the entry and the reason; a full disk is
    /// ``ImageDataError/diskFull(path:reason:)``.
    @discardableResult
    public static func extract(
        _ archive: URL, to destination: URL, limits: ArchiveLimits = ArchiveLimits(),
        space: SpaceProbe = { try FileSystemSpace.of($0) }
    ) throws -> ExtractionSummary {
        let name = archive.lastPathComponent
        guard !FileManager.default.fileExists(atPath: destination.path) else {
            throw ImageDataError.io(path: destination.path, reason: "extraction target already exists")
        }
        let plan = try survey(archive, name: name, limits: limits)
        try checkSpace(for: plan, archive: name, at: destination, limits: limits, space: space)
        try makeFolder(destination.standardizedFileURL)
        do {
            return try extractEntries(archive, name: name, to: destination.standardizedFileURL, plan: plan, limits: limits)
        } catch {
            try? FileManager.default.removeItem(at: destination)
            throw error
        }
    }

    // MARK: - Second pass: writing

    private static func extractEntries(
        _ archive: URL, name: String, to destination: URL, plan: ArchivePlan, limits: ArchiveLimits
    ) throws -> ExtractionSummary {
        let reader = try openReader(archive, name: name)
        defer { archive_read_free(reader) }
        var summary = ExtractionSummary(files: 0, folders: 0, bytes: 0, skipped: plan.skipped)
        var number = 0, fileIndex = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while let entry = try nextEntry(reader, archive: name) {
            number += 1
            let item = try classify(entry, number: number, archive: name, limits: limits, namedPipes: plan.namedPipes)
            let target = item.components.reduce(destination) { $0.appendingPathComponent($1) }
            switch item.kind {
            case .root, .skipped:
                continue  // libarchive skips the entry's data at the next header
            case .folder:
                try makeFolder(target)
                summary.folders += 1
            case .file:
                // The first pass saw every entry; a reader that now finds more has been given a changing file.
                guard fileIndex < plan.fileSizes.count else {
                    throw ImageDataError.unreadableArchive(archive: name, reason: "it changed while being extracted")
                }
                let allowed = plan.fileSizes[fileIndex]
                fileIndex += 1
                try makeFolder(target.deletingLastPathComponent())
                summary.bytes += try writeFile(
                    reader, to: target, entryName: item.path, archive: name, allowed: allowed,
                    totalSoFar: summary.bytes, limits: limits, buffer: &buffer)
                summary.files += 1
            }
        }
        return summary
    }

    /// Streams the current entry's data into a new file, cut off as soon as it exceeds the size the first
    /// pass found (a zip's declared size can lie: the deflate stream decides how much comes out).
    private static func writeFile(
        _ reader: OpaquePointer, to target: URL, entryName: String, archive: String, allowed: Int64,
        totalSoFar: Int64, limits: ArchiveLimits, buffer: inout [UInt8]
    ) throws -> Int64 {
        // O_EXCL: nothing is overwritten; O_NOFOLLOW: never write through a link.
        let descriptor = open(target.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            let code = errno
            if code == ENOSPC || code == EDQUOT { throw diskFull(target, code) }
            let reason = code == EEXIST ? "appears twice" : "cannot be created (\(String(cString: strerror(code))))"
            throw ImageDataError.unsafeArchiveEntry(archive: archive, entry: entryName, reason: reason)
        }
        var closed = false
        defer { if !closed { close(descriptor) } }
        var written: Int64 = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { archive_read_data(reader, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                throw ImageDataError.unreadableArchive(archive: archive, reason: "\(entryName): \(errorString(reader))")
            }
            if written + Int64(count) > allowed {
                throw ImageDataError.unreadableArchive(
                    archive: archive,
                    reason: "entry '\(entryName)' holds more than the \(allowed) bytes its header declares "
                        + "(a corrupt or forged archive)")
            }
            if totalSoFar + written + Int64(count) > limits.maximumTotalSize {
                throw ImageDataError.archiveLimitExceeded(
                    archive: archive, reason: "contents expand to more than \(limits.maximumTotalSize) bytes")
            }
            var offset = 0
            while offset < count {
                let result = buffer.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, count - offset) }
                if result < 0 {
                    let code = errno
                    if code == EINTR { continue }
                    if code == ENOSPC || code == EDQUOT { throw diskFull(target, code) }
                    throw ImageDataError.io(path: target.path, reason: String(cString: strerror(code)))
                }
                offset += result
            }
            written += Int64(count)
        }
        closed = true
        // Network and quota file systems may report a full disk only when the file is closed.
        if close(descriptor) != 0 {
            let code = errno
            if code == ENOSPC || code == EDQUOT { throw diskFull(target, code) }
            throw ImageDataError.io(path: target.path, reason: String(cString: strerror(code)))
        }
        return written
    }

    /// Creates `url` and any missing parents; an existing folder is fine, an existing file is not.
    private static func makeFolder(_ url: URL) throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) {
            if isFolder.boolValue { return }
            throw ImageDataError.io(path: url.path, reason: "a file is in the way of a folder")
        }
        try makeFolder(url.deletingLastPathComponent())
        if mkdir(url.path, 0o755) != 0 {
            let code = errno
            if code == EEXIST { return }
            if code == ENOSPC || code == EDQUOT { throw diskFull(url, code) }
            throw ImageDataError.io(path: url.path, reason: String(cString: strerror(code)))
        }
    }

    private static func diskFull(_ url: URL, _ code: Int32) -> ImageDataError {
        .diskFull(path: url.path, reason: String(cString: strerror(code)))
    }

    // MARK: - Shared by both passes

    static func openReader(_ archive: URL, name: String) throws -> OpaquePointer {
        guard let reader = archive_read_new() else {
            throw ImageDataError.unreadableArchive(archive: name, reason: "cannot create a reader")
        }
        archive_read_support_filter_gzip(reader)
        // Both zip readers: the seekable one (chosen for files) takes sizes from the central directory.
        archive_read_support_format_zip(reader)
        archive_read_support_format_tar(reader)
        guard archive_read_open_filename(reader, archive.path, 1 << 16) == ARCHIVE_OK else {
            let reason = errorString(reader)
            archive_read_free(reader)
            throw ImageDataError.unreadableArchive(archive: name, reason: reason)
        }
        return reader
    }

    /// The next header, or `nil` at the end of the archive.
    static func nextEntry(_ reader: OpaquePointer, archive: String) throws -> OpaquePointer? {
        var entry: OpaquePointer?
        let status = archive_read_next_header(reader, &entry)
        if status == ARCHIVE_EOF { return nil }
        guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry else {
            throw ImageDataError.unreadableArchive(archive: archive, reason: errorString(reader))
        }
        return entry
    }

    static func errorString(_ archive: OpaquePointer) -> String {
        archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
    }
}
