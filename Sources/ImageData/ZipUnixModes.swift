/// The Unix file types a zip's central directory records, for the one case libarchive hides: it reports a
/// named pipe (FIFO) member as a regular file, which tar's reader does not.
import Foundation

/// Reads the central directory of a zip file and keeps the paths of members whose Unix mode (the high half of
/// the external attributes, when "made by" is Unix) is a named pipe.
enum ZipUnixModes {
    private static let fifo: UInt32 = 0o010000

    /// Paths of FIFO members; empty when the file is no zip, has no readable directory or holds none.
    static func namedPipes(in archive: URL) -> Set<String> {
        guard let handle = try? FileHandle(forReadingFrom: archive) else { return [] }
        defer { try? handle.close() }
        guard let size = try? handle.seekToEnd(), size >= 22 else { return [] }
        // The end record is 22 bytes plus a comment of at most 65 535.
        let tailLength = min(size, 22 + 65_535)
        guard (try? handle.seek(toOffset: size - tailLength)) != nil,
              let tail = try? handle.read(upToCount: Int(tailLength)).map({ [UInt8]($0) }) else { return [] }
        guard let end = stride(from: tail.count - 22, through: 0, by: -1).first(where: { u32(tail, $0) == 0x0605_4B50 })
        else { return [] }
        var offset = UInt64(u32(tail, end + 16)), length = UInt64(u32(tail, end + 12))
        // Zip64: the locator just before the end record points at a record holding 64-bit fields.
        if offset == 0xFFFF_FFFF || length == 0xFFFF_FFFF, end >= 20, u32(tail, end - 20) == 0x0706_4B50 {
            let recordOffset = u64(tail, end - 20 + 8)
            guard (try? handle.seek(toOffset: recordOffset)) != nil,
                  let record = try? handle.read(upToCount: 56).map({ [UInt8]($0) }), record.count == 56,
                  u32(record, 0) == 0x0606_4B50 else { return [] }
            length = u64(record, 40)
            offset = u64(record, 48)
        }
        guard offset + length <= size, length <= 1 << 30, (try? handle.seek(toOffset: offset)) != nil,
              let directory = try? handle.read(upToCount: Int(length)).map({ [UInt8]($0) }) else { return [] }
        var pipes = Set<String>()
        var index = 0
        while index + 46 <= directory.count, u32(directory, index) == 0x0201_4B50 {
            let madeBy = directory[index + 5]
            let nameLength = Int(u16(directory, index + 28))
            let extraLength = Int(u16(directory, index + 30)), commentLength = Int(u16(directory, index + 32))
            let mode = u32(directory, index + 38) >> 16
            guard index + 46 + nameLength <= directory.count else { break }
            if madeBy == 3, mode & 0o170000 == fifo {
                pipes.insert(String(decoding: directory[(index + 46)..<(index + 46 + nameLength)], as: UTF8.self))
            }
            index += 46 + nameLength + extraLength + commentLength
        }
        return pipes
    }

    private static func u16(_ bytes: [UInt8], _ at: Int) -> UInt32 { UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 }
    private static func u32(_ bytes: [UInt8], _ at: Int) -> UInt32 { u16(bytes, at) | u16(bytes, at + 2) << 16 }
    private static func u64(_ bytes: [UInt8], _ at: Int) -> UInt64 {
        UInt64(u32(bytes, at)) | UInt64(u32(bytes, at + 4)) << 32
    }
}
