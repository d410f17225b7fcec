/// Appending numbers to `Data` least significant byte first, as the binary formats Graft writes store them.
import Foundation

extension Data {
    /// Appends `value`'s bytes, least significant first (a safetensors header length, a zip field).
    public mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        var remaining = value
        for _ in 0..<MemoryLayout<T>.size {
            append(UInt8(truncatingIfNeeded: remaining))
            remaining >>= 8
        }
    }

    /// Appends each value's IEEE 754 bits, least significant byte first.
    ///
    /// One copy of the array's memory on little-endian hosts (a model's weights are tens of megabytes, where
    /// a per-byte loop would cost more than writing the file); a byte swap per value elsewhere.
    public mutating func appendLittleEndian(_ values: [Float]) {
        #if _endian(little)
        values.withUnsafeBytes { append(contentsOf: $0) }
        #else
        reserveCapacity(count + 4 * values.count)
        for value in values { appendLittleEndian(value.bitPattern) }
        #endif
    }
}
