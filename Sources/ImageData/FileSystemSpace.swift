/// Free space of the file system an extraction writes to, read with statvfs, so that an archive is refused
/// before it fills the disk rather than halfway through.
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What a file system can still take, as an unprivileged process sees it.
public struct FileSystemSpace: Sendable, Equatable {
    /// Bytes available to unprivileged users (statvfs `f_bavail × f_frsize`).
    public var availableBytes: Int64
    /// The allocation unit: every file occupies a whole number of these.
    public var blockSize: Int64

    public init(availableBytes: Int64, blockSize: Int64) {
        self.availableBytes = availableBytes
        self.blockSize = max(1, blockSize)
    }

    /// The space of the file system holding `url`, or of its nearest existing ancestor when `url` does not
    /// exist yet.
    public static func of(_ url: URL) throws -> FileSystemSpace {
        var probe = url.standardizedFileURL
        while !FileManager.default.fileExists(atPath: probe.path), probe.path != "/" {
            probe = probe.deletingLastPathComponent()
        }
        var info = statvfs()
        guard statvfs(probe.path, &info) == 0 else {
            throw ImageDataError.io(path: probe.path, reason: "cannot read free space: \(String(cString: strerror(errno)))")
        }
        let fragment = Int64(info.f_frsize != 0 ? info.f_frsize : info.f_bsize)
        let (available, overflow) = Int64(clamping: info.f_bavail).multipliedReportingOverflow(by: fragment)
        return FileSystemSpace(availableBytes: overflow ? .max : available, blockSize: fragment)
    }
}
