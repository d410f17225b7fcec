/// The caps an archive extraction enforces and what an extraction produced.
import Foundation

/// Caps that keep a hostile archive from filling the disk or the inode table. Defaults suit image datasets.
public struct ArchiveLimits: Sendable, Equatable, Codable {
    /// Entries (files, folders and skipped entries) in the archive.
    public var maximumEntries: Int
    /// Expanded bytes of any single file.
    public var maximumFileSize: Int64
    /// Expanded bytes of all files together.
    public var maximumTotalSize: Int64
    /// Characters of any entry path.
    public var maximumPathLength: Int
    /// Expanded bytes per byte of archive, once the contents pass ``expansionRatioFloor``. JPEG and PNG files
    /// barely compress, so an archive that inflates 50-fold holds no images but a bomb.
    public var maximumExpansionRatio: Int64
    /// Free space the file system must keep after the extraction, beyond the expanded size: room for the
    /// database, checkpoints and other uploads.
    public var freeSpaceMargin: Int64

    /// Below this expanded size the ratio is not checked: small archives of text or empty files are harmless.
    public static let expansionRatioFloor: Int64 = 64 << 20

    public init(
        maximumEntries: Int = 200_000, maximumFileSize: Int64 = 256 << 20, maximumTotalSize: Int64 = 8 << 30,
        maximumPathLength: Int = 1024, maximumExpansionRatio: Int64 = 50, freeSpaceMargin: Int64 = 64 << 20
    ) {
        self.maximumEntries = maximumEntries
        self.maximumFileSize = maximumFileSize
        self.maximumTotalSize = maximumTotalSize
        self.maximumPathLength = maximumPathLength
        self.maximumExpansionRatio = maximumExpansionRatio
        self.freeSpaceMargin = freeSpaceMargin
    }

    enum CodingKeys: String, CodingKey {
        case maximumEntries = "maximum_entries", maximumFileSize = "maximum_file_size"
        case maximumTotalSize = "maximum_total_size", maximumPathLength = "maximum_path_length"
        case maximumExpansionRatio = "maximum_expansion_ratio", freeSpaceMargin = "free_space_margin"
    }
}

/// What an extraction produced.
public struct ExtractionSummary: Sendable, Equatable {
    public var files: Int
    public var folders: Int
    public var bytes: Int64
    /// Entries that were not extracted (links, pipes, devices), with the reason, for the validation report.
    public var skipped: [ValidationReport.SkippedFile] = []
}
