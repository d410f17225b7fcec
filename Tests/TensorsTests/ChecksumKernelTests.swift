// The byte checksums in Tensors/Kernels against independent values: zlib's CRC-32 check value, and the float
// overload against the same bytes fed one by one.
import Foundation
import Tensors
import Testing

@Suite struct ChecksumKernelTests {
    @Test func crc32MatchesZlib() {
        var crc = CRC32()
        crc.update(Array("123456789".utf8))
        #expect(crc.value == 0xCBF4_3926)   // the check value of CRC-32/ISO-HDLC, zlib.crc32(b"123456789")
        var empty = CRC32()
        empty.update([UInt8]())
        #expect(empty.value == 0)
    }

    @Test func floatsAreChecksummedAsTheirLittleEndianBytes() {
        let floats: [Float] = [0, -0.0, 1.5, -2.25, .infinity, 3.4e38, .leastNonzeroMagnitude]
        var whole = CRC32(), bytewise = CRC32()
        whole.update(floats)
        for value in floats {
            let bits = value.bitPattern
            bytewise.update((0..<4).map { UInt8((bits >> (8 * $0)) & 0xFF) })
        }
        #expect(whole.value == bytewise.value)
        var changed = CRC32()
        changed.update([Float](floats.dropLast()) + [Float.leastNonzeroMagnitude * 2])
        #expect(changed.value != whole.value)
    }

    @Test func digest64SeesEveryByteAndTheTail() {
        func digest(_ bytes: [UInt8]) -> UInt64 { var d = Digest64(); d.mix(bytes); return d.value }
        let base = Array(0..<UInt8(19))
        var seen = Set([digest(base)])
        for index in base.indices {
            var changed = base
            changed[index] ^= 1
            seen.insert(digest(changed))
        }
        #expect(seen.count == base.count + 1, "a change in any byte, word or tail, changes the digest")
        #expect(digest(base) == { var d = Digest64(); d.mix(Data(base)); return d.value }(), "Data and arrays agree")
        #expect(digest([]) != digest([0]), "a zero tail byte still counts")
    }
}
