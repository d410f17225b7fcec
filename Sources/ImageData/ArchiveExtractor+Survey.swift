/// The first pass of an extraction: every header read and checked, sizes summed, nothing written, so that a
/// bomb, a flood of entries or an unsafe path is refused before the disk sees a byte.
import CArchive
import Foundation

/// What the first pass found: the sizes the second pass may write, in order, and the entries it skips.
struct ArchivePlan {
    var entryCount = 0
    /// Expanded size of each regular file in archive order: declared by its header, or counted by reading its
    /// data when the header has none (a streamed zip).
    var fileSizes: [Int64] = []
    /// Folders to create, including the implicit parents of files.
    var folderCount = 0
    var totalBytes: Int64 = 0
    var skipped: [ValidationReport.SkippedFile] = []
    /// Zip members recorded as named pipes, which libarchive presents as regular files.
    var namedPipes: Set<String> = []
}

/// One header, judged the same way by both passes.
struct ClassifiedEntry {
    enum Kind: Equatable {
        /// `./` itself.
        case root
        case folder
        case file(declaredSize: Int64?)
        /// Not extracted, for the reason given (links, pipes, devices, sockets).
        case skipped(reason: String)
    }

    var path: String
    var components: [String]
    var kind: Kind
}

extension ArchiveExtractor {
    private static let typeMask: UInt32 = 0o170000
    private static let regularFile: UInt32 = 0o100000
    private static let directory: UInt32 = 0o040000

    /// Reads every header of `archive` (skipping file data, or counting it when the size is not declared)
    /// and throws at the first entry over a cap, unsafe path, duplicate or file/folder clash.
    static func survey(_ archive: URL, name: String, limits: ArchiveLimits) throws -> ArchivePlan {
        let reader = try openReader(archive, name: name)
        defer { archive_read_free(reader) }
        var plan = ArchivePlan()
        var files = Set<String>(), folders = Set<String>()
        var buffer: [UInt8] = []
        while let entry = try nextEntry(reader, archive: name) {
            plan.entryCount += 1
            // The format is known once the first header is read.
            if plan.entryCount == 1, archive_format(reader) & ARCHIVE_FORMAT_BASE_MASK == ARCHIVE_FORMAT_ZIP {
                plan.namedPipes = ZipUnixModes.namedPipes(in: archive)
            }
            if plan.entryCount > limits.maximumEntries {
                throw ImageDataError.archiveLimitExceeded(
                    archive: name, reason: "it has more than \(limits.maximumEntries) entries")
            }
            let item = try classify(entry, number: plan.entryCount, archive: name, limits: limits,
                                    namedPipes: plan.namedPipes)
            func refuse(_ reason: String) -> ImageDataError {
                .unsafeArchiveEntry(archive: name, entry: item.path, reason: reason)
            }
            let key = item.components.joined(separator: "/")
            switch item.kind {
            case .folder, .file:
                // Every parent becomes a folder, so none of them may be a file.
                for depth in 1..<item.components.count {
                    let parent = item.components.prefix(depth).joined(separator: "/")
                    if files.contains(parent) { throw refuse("lies inside '\(parent)', which is a file") }
                    folders.insert(parent)
                }
            case .root, .skipped:
                break
            }
            switch item.kind {
            case .root:
                break
            case .skipped(let reason):
                plan.skipped.append(.init(path: item.path, reason: reason))
            case .folder:
                if files.contains(key) { throw refuse("is both a file and a folder") }
                folders.insert(key)
            case .file(let declared):
                if files.contains(key) { throw refuse("appears twice") }
                if folders.contains(key) { throw refuse("is both a file and a folder") }
                files.insert(key)
                let size: Int64
                if let declared {
                    size = declared
                } else {
                    if buffer.isEmpty { buffer = [UInt8](repeating: 0, count: 1 << 16) }
                    size = try countData(reader, entryName: item.path, archive: name,
                                         stopAfter: limits.maximumFileSize, buffer: &buffer)
                }
                if size > limits.maximumFileSize {
                    throw ImageDataError.archiveLimitExceeded(
                        archive: name, reason: "entry '\(item.path)' is larger than \(limits.maximumFileSize) bytes")
                }
                plan.totalBytes += size
                if plan.totalBytes > limits.maximumTotalSize {
                    throw ImageDataError.archiveLimitExceeded(
                        archive: name, reason: "contents expand to more than \(limits.maximumTotalSize) bytes")
                }
                plan.fileSizes.append(size)
            }
        }
        plan.folderCount = folders.count
        try checkExpansionRatio(plan.totalBytes, archive: archive, name: name, limits: limits)
        return plan
    }

    /// Judges one header: throws for unsafe paths, returns what to do with the entry otherwise.
    static func classify(
        _ entry: OpaquePointer, number: Int, archive: String, limits: ArchiveLimits, namedPipes: Set<String>
    ) throws -> ClassifiedEntry {
        let rawPath = archive_entry_pathname_utf8(entry).map { String(cString: $0) }
            ?? archive_entry_pathname(entry).map { String(cString: $0) }
        guard let rawPath else {
            throw ImageDataError.unsafeArchiveEntry(archive: archive, entry: "#\(number)", reason: "has no path")
        }
        let components = try safeComponents(rawPath, archive: archive, limits: limits)
        func item(_ kind: ClassifiedEntry.Kind) -> ClassifiedEntry {
            ClassifiedEntry(path: rawPath, components: components, kind: kind)
        }
        if components.isEmpty { return item(.root) }
        let pipe = item(.skipped(reason: "named pipe (FIFO) in the archive (not extracted)"))
        if !namedPipes.isEmpty, namedPipes.contains(rawPath) { return pipe }
        // The same rule for zip and tar: only files and folders are extracted; the rest is reported.
        if archive_entry_hardlink(entry) != nil { return item(.skipped(reason: "hard link in the archive (not extracted)")) }
        if archive_entry_symlink(entry) != nil {
            return item(.skipped(reason: "symbolic link in the archive (not extracted)"))
        }
        switch UInt32(archive_entry_filetype(entry)) & typeMask {
        case directory:
            return item(.folder)
        case regularFile:
            return item(.file(declaredSize: archive_entry_size_is_set(entry) != 0 ? archive_entry_size(entry) : nil))
        case 0o010000:
            return pipe
        case 0o020000, 0o060000:
            return item(.skipped(reason: "device node in the archive (not extracted)"))
        case 0o120000:
            return item(.skipped(reason: "symbolic link in the archive (not extracted)"))
        case 0o140000:
            return item(.skipped(reason: "socket in the archive (not extracted)"))
        default:
            return item(.skipped(reason: "neither a file nor a folder (not extracted)"))
        }
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

    /// Bytes of the current entry's data, read into a scratch buffer; stops once past `stopAfter`.
    private static func countData(
        _ reader: OpaquePointer, entryName: String, archive: String, stopAfter: Int64, buffer: inout [UInt8]
    ) throws -> Int64 {
        var total: Int64 = 0
        while total <= stopAfter {
            let count = buffer.withUnsafeMutableBytes { archive_read_data(reader, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                throw ImageDataError.unreadableArchive(archive: archive, reason: "\(entryName): \(errorString(reader))")
            }
            total += Int64(count)
        }
        return total
    }

    /// Image files do not compress: contents far larger than the archive are a compression bomb.
    private static func checkExpansionRatio(_ expanded: Int64, archive: URL, name: String, limits: ArchiveLimits) throws {
        guard expanded > ArchiveLimits.expansionRatioFloor else { return }
        let size = ((try? FileManager.default.attributesOfItem(atPath: archive.path))?[.size] as? NSNumber)?.int64Value ?? 0
        let (allowed, overflow) = max(size, 1).multipliedReportingOverflow(by: limits.maximumExpansionRatio)
        if !overflow && expanded > allowed {
            throw ImageDataError.archiveLimitExceeded(
                archive: name, reason: "its \(size) bytes expand to \(expanded), more than \(limits.maximumExpansionRatio) "
                    + "times their size (JPEG and PNG files barely compress, so this is a compression bomb)")
        }
    }

    /// Refuses the archive when its expanded size, rounded up to whole blocks, plus the margin does not fit.
    static func checkSpace(
        for plan: ArchivePlan, archive: String, at destination: URL, limits: ArchiveLimits, space: SpaceProbe
    ) throws {
        let room = try space(destination)
        let block = room.blockSize
        var needed = limits.freeSpaceMargin + Int64(plan.folderCount + 1) * block
        for size in plan.fileSizes { needed += (size + block - 1) / block * block }
        if needed > room.availableBytes {
            throw ImageDataError.insufficientSpace(
                archive: archive, path: destination.deletingLastPathComponent().path, needed: needed,
                available: room.availableBytes)
        }
    }
}
