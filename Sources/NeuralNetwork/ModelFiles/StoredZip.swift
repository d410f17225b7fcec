/// A minimal strict zip reader for PyTorch's archives: stored (uncompressed) entries only, every offset checked.
import Foundation
import Tensors

/// The entries of a zip archive whose members are all stored without compression, as `torch.save` writes
/// them. Reads the end-of-central-directory record, then each central-directory entry and its local header;
/// every length and offset is checked against the file before use. Zip64, compression, encryption and
/// multi-disk archives are refused.
struct StoredZip {
    /// Where one member's bytes lie in the archive.
    struct Entry {
        let name: String
        let range: Range<Int>
    }

    let entries: [String: Entry]
    let names: [String]

    /// The signature the first four bytes of any zip archive carry (a local file header).
    static let localHeaderSignature: UInt32 = 0x0403_4b50
    static let centralHeaderSignature: UInt32 = 0x0201_4b50
    static let endSignature: UInt32 = 0x0605_4b50

    init(bytes: ByteView, fail: (PyTorchCheckpointError.Reason) -> PyTorchCheckpointError) throws {
        // Every field is also checked by the reader; the guards below give the archive's own reasons first.
        func u16(_ at: Int) throws -> Int {
            do { return Int(try bytes.integer(UInt16.self, at: at, .littleEndian, "a zip field")) } catch {
                throw fail(.truncated(error.description))
            }
        }
        func u32(_ at: Int) throws -> Int {
            do { return Int(try bytes.integer(UInt32.self, at: at, .littleEndian, "a zip field")) } catch {
                throw fail(.truncated(error.description))
            }
        }
        let count = bytes.count
        guard count >= 22 else { throw fail(.truncated("\(count) bytes cannot hold a zip end record")) }
        // The end record is 22 bytes plus a comment of at most 65535 bytes; search backwards for it.
        var end = -1
        var position = count - 22
        let lowest = max(0, count - 22 - 65535)
        while position >= lowest {
            if try u32(position) == Int(Self.endSignature) && position + 22 + u16(position + 20) == count {
                end = position
                break
            }
            position -= 1
        }
        guard end >= 0 else { throw fail(.invalidArchive("no end-of-central-directory record")) }
        guard try u16(end + 4) == 0, try u16(end + 6) == 0, try u16(end + 8) == u16(end + 10) else {
            throw fail(.invalidArchive("multi-disk archives are not supported"))
        }
        let entryCount = try u16(end + 10)
        let directorySize = try u32(end + 12)
        let directoryOffset = try u32(end + 16)
        if entryCount == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            throw fail(.invalidArchive("zip64 archives are not supported"))
        }
        guard directoryOffset <= end, directorySize <= end - directoryOffset else {
            throw fail(.invalidArchive("central directory \(directoryOffset)+\(directorySize) lies outside the file"))
        }
        var entries: [String: Entry] = [:]
        var names: [String] = []
        var cursor = directoryOffset
        let directoryEnd = directoryOffset + directorySize
        for index in 0..<entryCount {
            guard cursor + 46 <= directoryEnd, try u32(cursor) == Int(Self.centralHeaderSignature) else {
                throw fail(.invalidArchive("central directory entry \(index) is malformed"))
            }
            let flags = try u16(cursor + 8)
            let method = try u16(cursor + 10)
            let compressedSize = try u32(cursor + 20)
            let size = try u32(cursor + 24)
            let nameLength = try u16(cursor + 28)
            let extraLength = try u16(cursor + 30)
            let commentLength = try u16(cursor + 32)
            let localOffset = try u32(cursor + 42)
            let next = cursor + 46 + nameLength + extraLength + commentLength
            guard next <= directoryEnd else {
                throw fail(.invalidArchive("central directory entry \(index) runs past the directory"))
            }
            let name: String
            do { name = try bytes.slice(at: cursor + 46, count: nameLength, "an entry name").lossyString } catch {
                throw fail(.truncated(error.description))
            }
            guard flags & 0x1 == 0 else { throw fail(.invalidArchive("entry '\(name)' is encrypted")) }
            guard method == 0 else {
                throw fail(.invalidArchive("entry '\(name)' is compressed (method \(method)); only stored entries are read"))
            }
            if size == 0xFFFF_FFFF || localOffset == 0xFFFF_FFFF {
                throw fail(.invalidArchive("entry '\(name)' needs zip64, which is not supported"))
            }
            guard compressedSize == size else {
                throw fail(.invalidArchive("stored entry '\(name)' has compressed size \(compressedSize) ≠ size \(size)"))
            }
            guard localOffset <= count - 30, try u32(localOffset) == Int(Self.localHeaderSignature) else {
                throw fail(.invalidArchive("entry '\(name)' has no local header at byte \(localOffset)"))
            }
            guard try u16(localOffset + 8) == 0 else {
                throw fail(.invalidArchive("entry '\(name)' is compressed in its local header"))
            }
            // The local header's own name and extra lengths place the data (torch pads the extra field to align it).
            let dataStart = try localOffset + 30 + u16(localOffset + 26) + u16(localOffset + 28)
            guard dataStart <= count, size <= count - dataStart else {
                throw fail(.truncated("entry '\(name)' claims \(size) bytes at byte \(dataStart) of a \(count)-byte file"))
            }
            guard dataStart <= directoryOffset, size <= directoryOffset - dataStart else {
                throw fail(.invalidArchive("entry '\(name)' overlaps the central directory"))
            }
            guard entries[name] == nil else { throw fail(.invalidArchive("entry '\(name)' appears twice")) }
            entries[name] = Entry(name: name, range: dataStart..<(dataStart + size))
            names.append(name)
            cursor = next
        }
        self.entries = entries
        self.names = names
    }
}
