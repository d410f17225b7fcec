// Builds zip, tar and tar.gz files with libarchive's writer, including entries no honest archive contains.
import CArchive
import Foundation

enum TestArchives {
    enum Kind: String { case zip, tar, tarGz = "tar.gz" }

    enum EntryType {
        case file([UInt8])
        case zeros(Int)
        case folder
        case symlink(String)
        case hardlink(String)
        case characterDevice
        case fifo
    }

    struct Entry {
        var path: String
        var type: EntryType
    }

    static func write(_ entries: [Entry], kind: Kind, to url: URL) {
        let writer = archive_write_new()!
        defer { archive_write_free(writer) }
        switch kind {
        case .zip: archive_write_set_format_zip(writer)
        case .tar: archive_write_set_format_pax_restricted(writer)
        case .tarGz:
            archive_write_set_format_pax_restricted(writer)
            archive_write_add_filter_gzip(writer)
        }
        precondition(archive_write_open_filename(writer, url.path) == ARCHIVE_OK)
        for item in entries {
            let entry = archive_entry_new()!
            defer { archive_entry_free(entry) }
            archive_entry_set_pathname(entry, item.path)
            archive_entry_set_perm(entry, 0o644)
            var data: [UInt8] = []
            switch item.type {
            case .file(let bytes):
                data = bytes
                archive_entry_set_filetype(entry, 0o100000)
            case .zeros(let count):
                data = [UInt8](repeating: 0, count: count)
                archive_entry_set_filetype(entry, 0o100000)
            case .folder:
                archive_entry_set_filetype(entry, 0o040000)
                archive_entry_set_perm(entry, 0o755)
            case .symlink(let target):
                archive_entry_set_filetype(entry, 0o120000)
                archive_entry_set_symlink(entry, target)
            case .hardlink(let target):
                archive_entry_set_filetype(entry, 0o100000)
                archive_entry_set_hardlink(entry, target)
            case .characterDevice:
                archive_entry_set_filetype(entry, 0o020000)
                archive_entry_set_rdev(entry, 0x0103)
            case .fifo:
                archive_entry_set_filetype(entry, 0o010000)
            }
            archive_entry_set_size(entry, Int64(data.count))
            let status = archive_write_header(writer, entry)
            precondition(status == ARCHIVE_OK || status == ARCHIVE_WARN, String(cString: archive_error_string(writer)))
            if !data.isEmpty { _ = data.withUnsafeBytes { archive_write_data(writer, $0.baseAddress, $0.count) } }
        }
        archive_write_close(writer)
    }

    /// Gzip bytes through libarchive's raw format.
    static func gzip(_ bytes: [UInt8]) -> Data {
        let writer = archive_write_new()!
        defer { archive_write_free(writer) }
        archive_write_set_format_raw(writer)
        archive_write_add_filter_gzip(writer)
        var buffer = [UInt8](repeating: 0, count: bytes.count + 4096)
        var used = 0
        buffer.withUnsafeMutableBytes { out in
            precondition(archive_write_open_memory(writer, out.baseAddress, out.count, &used) == ARCHIVE_OK)
            let entry = archive_entry_new()!
            archive_entry_set_filetype(entry, 0o100000)
            archive_entry_set_pathname(entry, "data")
            archive_write_header(writer, entry)
            archive_entry_free(entry)
            _ = bytes.withUnsafeBytes { archive_write_data(writer, $0.baseAddress, $0.count) }
            archive_write_close(writer)
        }
        return Data(buffer.prefix(used))
    }

    // MARK: - Zip files assembled byte by byte

    /// One member of a hand-made zip: any Unix mode, stored or deflated, and a declared size that may lie.
    struct ZipMember {
        var path: String
        var data: [UInt8] = []
        /// Unix mode, written to the high half of the external attributes as Info-ZIP does.
        var mode: UInt32 = 0o100644
        var deflated = false
        /// The uncompressed size the local header and central directory declare; `nil` for the true one.
        var declaredSize: UInt32?
    }

    /// A zip with a central directory, written without any zip library so that headers can say anything.
    static func zip(_ members: [ZipMember]) -> Data {
        func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
        func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * UInt32($0))) & 0xFF) } }
        var body: [UInt8] = [], directory: [UInt8] = []
        for member in members {
            let name = Array(member.path.utf8)
            let payload = member.deflated ? rawDeflate(member.data) : member.data
            let crc = TestImages.crc32(member.data)
            let size = member.declaredSize ?? UInt32(member.data.count)
            let method = member.deflated ? 8 : 0
            // version, flags, method, time, date, crc, compressed size, uncompressed size, name length, extra
            let common = le16(20) + le16(0) + le16(method) + le16(0) + le16(0x21) + le32(crc)
                + le32(UInt32(payload.count)) + le32(size) + le16(name.count) + le16(0)
            let offset = UInt32(body.count)
            body += le32(0x0403_4B50) + common + name + payload
            // made by Unix (3) version 3.0; comment length, disk, internal and external attributes, offset
            directory += le32(0x0201_4B50) + le16(0x031E) + common + le16(0) + le16(0) + le16(0)
                + le32(member.mode << 16) + le32(offset) + name
        }
        let end = le32(0x0605_4B50) + le16(0) + le16(0) + le16(members.count) + le16(members.count)
            + le32(UInt32(directory.count)) + le32(UInt32(body.count)) + le16(0)
        return Data(body + directory + end)
    }

    /// The deflate stream inside libarchive's gzip output (RFC 1952: a 10-byte header, optional fields, and
    /// an 8-byte trailer around it).
    static func rawDeflate(_ bytes: [UInt8]) -> [UInt8] {
        let gz = [UInt8](gzip(bytes))
        let flags = gz[3]
        var start = 10
        if flags & 0x04 != 0 { start += 2 + Int(gz[start]) | Int(gz[start + 1]) << 8 }
        if flags & 0x08 != 0 { while gz[start] != 0 { start += 1 }; start += 1 }
        if flags & 0x10 != 0 { while gz[start] != 0 { start += 1 }; start += 1 }
        if flags & 0x02 != 0 { start += 2 }
        return Array(gz[start..<(gz.count - 8)])
    }
}

/// A tmpfs of a few hundred kilobytes mounted for one test: a real disk that fills up. Needs root and a
/// kernel that lets this process mount (true in the development container, not in every CI sandbox).
final class TinyDisk {
    let mountPoint: URL

    /// Whether this process may mount a tmpfs, tried once.
    static let isAvailable: Bool = {
        guard let probe = TinyDisk(bytes: 64 << 10) else { return false }
        probe.unmount()
        return true
    }()

    init?(bytes: Int, at mountPoint: URL = TestImages.temporaryFolder("tinydisk")) {
        self.mountPoint = mountPoint
        try? FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        guard Self.run("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=\(bytes)", "tmpfs", mountPoint.path]) else {
            try? FileManager.default.removeItem(at: mountPoint)
            return nil
        }
    }

    /// Names inside the mount point, hidden ones included.
    var contents: [String] { (try? FileManager.default.contentsOfDirectory(atPath: mountPoint.path)) ?? [] }

    func unmount() {
        _ = Self.run("/usr/bin/umount", [mountPoint.path])
        try? FileManager.default.removeItem(at: mountPoint)
    }

    private static func run(_ tool: String, _ arguments: [String]) -> Bool {
        guard FileManager.default.isExecutableFile(atPath: tool) else { return false }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}
