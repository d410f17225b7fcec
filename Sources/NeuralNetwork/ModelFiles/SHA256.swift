// SHA-256 (FIPS 180-4) of weights, uploads, migrations and artefacts, computed by OpenSSL's libcrypto.
import CCrypto
import Foundation

/// An incremental SHA-256 digest (FIPS 180-4, https://doi.org/10.6028/NIST.FIPS.180-4).
///
/// Foundation on Linux has no CryptoKit. Importing a 100 MB model hashes its file and the weights written, so the
/// block function matters: libcrypto's uses the CPU's SHA extensions where present (several GB/s) where portable
/// Swift managed about 150 MB/s. The context is a plain C struct, so a hasher is a value: a copy hashes on
/// independently. Feed bytes with `update`, then read `finalize()` once.
public struct SHA256 {
    private var context = SHA256_CTX()

    public init() {
        SHA256_Init(&context)
    }

    /// The hex digest of `data` in one call.
    public static func hexDigest<Bytes: Sequence>(of data: Bytes) -> String where Bytes.Element == UInt8 {
        var hasher = SHA256()
        hasher.update(Array(data))
        return hasher.finalizeHex()
    }

    /// The hex digest of a file's contents, read in 1 MiB chunks.
    public static func hexDigest(ofFileAt url: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(chunk)
        }
        return hasher.finalizeHex()
    }

    /// Feeds more bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        SHA256_Update(&context, base, bytes.count)
    }

    /// Feeds more bytes from any collection (contiguous ones without a copy).
    public mutating func update<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        let done: Void? = bytes.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
        if done == nil {
            Array(bytes).withUnsafeBytes { update($0) }
        }
    }

    /// Feeds the bytes of `data` without copying them.
    public mutating func update(_ data: Data) {
        data.withUnsafeBytes { update($0) }
    }

    /// Pads and returns the 32-byte digest.
    public mutating func finalize() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        digest.withUnsafeMutableBufferPointer { _ = SHA256_Final($0.baseAddress!, &context) }
        return digest
    }

    /// `finalize()` as lowercase hex.
    public mutating func finalizeHex() -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in finalize() {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
