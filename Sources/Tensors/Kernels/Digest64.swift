/// A fast 64-bit change detector over bytes (what ties a checkpoint to the data it was trained on).
import Foundation

/// FNV-1a over 64-bit words (bytes for the tail) with a final avalanche: a change detector, not a cryptographic
/// hash, fast enough to read a dataset's files at memory speed.
public struct Digest64: Sendable {
    private var h: UInt64 = 0xcbf2_9ce4_8422_2325
    private static let prime: UInt64 = 0x100_0000_01b3

    public init() {}

    public mutating func mix(_ word: UInt64) { h = (h ^ word) &* Self.prime }

    public mutating func mix(_ bytes: [UInt8]) { bytes.withUnsafeBytes { mix($0) } }

    public mutating func mix(_ data: Data) { data.withUnsafeBytes { mix($0) } }

    private mutating func mix(_ bytes: UnsafeRawBufferPointer) {
        let words = bytes.count / 8
        for index in 0..<words { mix(bytes.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self)) }
        for index in (words * 8)..<bytes.count { mix(UInt64(bytes[index]) | 0x100) }
    }

    /// The state run through a 64-bit finaliser (MurmurHash3's), so nearby inputs differ in every bit.
    public var value: UInt64 {
        var x = h
        x ^= x >> 33; x &*= 0xff51_afd7_ed55_8ccd
        x ^= x >> 33; x &*= 0xc4ce_b9fe_1a85_ec53
        return x ^ (x >> 33)
    }
}
