/// The IEEE CRC-32 (zlib's `crc32`) over bytes and float buffers: what checkpoints are checked with on load.
import Foundation

/// An incremental CRC-32 with the zlib polynomial, a byte at a time from a 256-entry table. It catches flipped
/// and truncated bytes, not deliberate forgery.
public struct CRC32: Sendable {
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }
    private var state: UInt32 = 0xFFFF_FFFF

    public init() {}

    public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// The floats' bytes in memory order (little-endian on every platform Graft runs on).
    public mutating func update(_ floats: [Float]) { floats.withUnsafeBytes { update($0) } }

    private mutating func update(_ bytes: UnsafeRawBufferPointer) {
        let table = Self.table
        var crc = state
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        state = crc
    }

    public var value: UInt32 { state ^ 0xFFFF_FFFF }
}
