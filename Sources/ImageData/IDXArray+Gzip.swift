/// Gunzipping IDX files through libarchive: C interop kept apart so that the IDX parser reads only checked bytes.
import CArchive
import Foundation

extension IDXArray {
    /// Gzip through libarchive's raw format and gzip filter, stopping at `maximumBytes`.
    static func gunzip(_ data: Data, name: String, maximumBytes: Int) throws -> [UInt8] {
        guard let reader = archive_read_new() else { throw ImageDataError.invalidIDX(file: name, reason: "cannot create a reader") }
        defer { archive_read_free(reader) }
        archive_read_support_filter_gzip(reader)
        archive_read_support_format_raw(reader)
        return try data.withUnsafeBytes { bytes -> [UInt8] in
            guard archive_read_open_memory(reader, bytes.baseAddress, bytes.count) == ARCHIVE_OK else {
                throw ImageDataError.invalidIDX(file: name, reason: ArchiveExtractor.errorString(reader))
            }
            var entry: OpaquePointer?
            guard archive_read_next_header(reader, &entry) == ARCHIVE_OK else {
                throw ImageDataError.invalidIDX(file: name, reason: "gzip: " + ArchiveExtractor.errorString(reader))
            }
            var out: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let count = chunk.withUnsafeMutableBytes { archive_read_data(reader, $0.baseAddress, $0.count) }
                if count == 0 { break }
                if count < 0 { throw ImageDataError.invalidIDX(file: name, reason: "gzip: " + ArchiveExtractor.errorString(reader)) }
                out.append(contentsOf: chunk[0..<count])
                if out.count > maximumBytes {
                    throw ImageDataError.invalidIDX(file: name, reason: "expands to more than \(maximumBytes) bytes")
                }
            }
            return out
        }
    }
}
