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
}
