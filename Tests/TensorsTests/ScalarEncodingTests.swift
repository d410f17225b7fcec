// The byte-run → [Float] conversions against values computed independently: hand-written bit patterns, every
// float16 and bfloat16 pattern against arithmetic in Double, unaligned runs and every loop remainder.
import Foundation
import Testing
@testable import Tensors

/// `value`'s low `count` bytes, least significant first, by shifts.
func littleEndianBytes(_ value: UInt64, _ count: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
}

/// One run of stored elements and the Float32 bit patterns they must become.
struct ScalarRow: Sendable, CustomTestStringConvertible {
    let encoding: ScalarEncoding
    let bytes: [UInt8]
    let expected: [UInt32]
    let note: String
    var testDescription: String { "\(encoding): \(note)" }

    init(_ encoding: ScalarEncoding, _ elements: [UInt64], _ expected: [Float], _ note: String) {
        self.init(encoding, elements, bits: expected.map(\.bitPattern), note)
    }

    init(_ encoding: ScalarEncoding, _ elements: [UInt64], bits: [UInt32], _ note: String) {
        self.encoding = encoding
        self.bytes = elements.flatMap { littleEndianBytes($0, encoding.byteCount) }
        self.expected = bits
        self.note = note
    }
}

let scalarRows: [ScalarRow] = [
    ScalarRow(.float32, [0x3FC0_0000, 0x8000_0000, 0x7F80_0000, 0x0000_0001, 0xC2F6_E979],
              bits: [0x3FC0_0000, 0x8000_0000, 0x7F80_0000, 0x0000_0001, 0xC2F6_E979], "1.5, −0, ∞, a subnormal, −123.456"),
    ScalarRow(.float32, [0x7FA0_0001, 0xFFC0_0000], bits: [0x7FA0_0001, 0xFFC0_0000], "NaN payloads kept bit for bit"),
    ScalarRow(.float16, [0x0000, 0x8000, 0x3C00, 0xC000, 0x3555, 0x7BFF, 0xFBFF],
              [0, -0.0, 1, -2, 0x1.554p-2, 65504, -65504], "zeros, normals, the largest"),
    ScalarRow(.float16, [0x0001, 0x8001, 0x03FF, 0x0400, 0x0200],
              [0x1p-24, -0x1p-24, 0x1.FF8p-15, 0x1p-14, 0x1p-15], "subnormals and the smallest normal"),
    ScalarRow(.float16, [0x7C00, 0xFC00, 0x7E00, 0xFE00, 0x7C01, 0x7FFF],
              bits: [0x7F80_0000, 0xFF80_0000, 0x7FC0_0000, 0xFFC0_0000, 0x7F80_2000, 0x7FFF_E000], "±∞ and NaNs"),
    ScalarRow(.bfloat16, [0x3F80, 0xBF00, 0x4049, 0x0000, 0x8000], [1, -0.5, 3.140625, 0, -0.0], "normals and zeros"),
    ScalarRow(.bfloat16, [0x0001, 0x007F, 0x0080], [0x1p-133, 0x1.FCp-127, 0x1p-126], "subnormals, the smallest normal"),
    ScalarRow(.bfloat16, [0x7F80, 0xFF80, 0x7FC0, 0x7F81],
              bits: [0x7F80_0000, 0xFF80_0000, 0x7FC0_0000, 0x7F81_0000], "±∞ and NaNs"),
    ScalarRow(.float64, [0x3FB9_9999_9999_999A, 0x3FF8_0000_0000_0000, 0x7E37_E43C_8800_759C, 0x81A5_6E1F_C2F8_F359],
              bits: [0x3DCC_CCCD, 0x3FC0_0000, 0x7F80_0000, 0x8000_0000], "0.1 rounds, 1.5, 1e300 → ∞, −1e−300 → −0"),
    ScalarRow(.float64, [0x36A0_0000_0000_0000, 0x36A8_0000_0000_0000, 0x4170_0000_1000_0000],
              bits: [0x0000_0001, 0x0000_0002, 0x4B80_0000], "2⁻¹⁴⁹, 3·2⁻¹⁵⁰ ties to even, 2²⁴+1 ties to even"),
    ScalarRow(.int8, [0x00, 0x7F, 0x80, 0xFF], [0, 127, -128, -1], "extremes"),
    ScalarRow(.uint8, [0x00, 0x7F, 0x80, 0xFF], [0, 127, 128, 255], "extremes"),
    ScalarRow(.int16, [0x7FFF, 0x8000, 0xFFFE], [32767, -32768, -2], "extremes"),
    ScalarRow(.uint16, [0xFFFF, 0x8000], [65535, 32768], "extremes"),
    ScalarRow(.int32, [0x0100_0001, 0x0100_0003, 0x8000_0000, 0xFFFF_FFFF], [16_777_216, 16_777_220, -2_147_483_648, -1],
              "2²⁴+1 and 2²⁴+3 round to even, extremes"),
    ScalarRow(.uint32, [0xFFFF_FFFF, 0x0000_0001], [4_294_967_296, 1], "extremes"),
    ScalarRow(.int64, [0xFFFF_FFFF_FFFF_FFFD, 0x8000_0000_0000_0000, 2], [-3, -9.223372e18, 2], "BatchNorm's counter, Int64.min"),
    ScalarRow(.uint64, [UInt64.max, 7], [1.8446744e19, 7], "extremes"),
    ScalarRow(.bool, [0, 1, 2, 0xFF], [0, 1, 1, 1], "any non-zero byte is true"),
]

/// binary16 by arithmetic in Double: (−1)ˢ · m · 2⁻²⁴ for a zero exponent, (−1)ˢ · (1024 + m) · 2^(e−25) else.
func referenceFloat16(_ bits: UInt16) -> Float {
    let sign: Double = bits & 0x8000 == 0 ? 1 : -1
    let exponent = Int(bits >> 10 & 0x1F), mantissa = Double(bits & 0x3FF)
    switch exponent {
    case 0: return Float(sign * mantissa * 0x1p-24)
    case 31: return mantissa == 0 ? Float(sign * .infinity) : .nan
    default: return Float(sign * (1024 + mantissa) * pow(2, Double(exponent - 25)))
    }
}

/// bfloat16 by arithmetic in Double: 8 exponent bits (bias 127) and 7 mantissa bits.
func referenceBFloat16(_ bits: UInt16) -> Float {
    let sign: Double = bits & 0x8000 == 0 ? 1 : -1
    let exponent = Int(bits >> 7 & 0xFF), mantissa = Double(bits & 0x7F)
    switch exponent {
    case 0: return Float(sign * mantissa * 0x1p-133)
    case 255: return mantissa == 0 ? Float(sign * .infinity) : .nan
    default: return Float(sign * (128 + mantissa) * pow(2, Double(exponent - 134)))
    }
}

/// Element `index` of `bytes` as `encoding`, assembled by shifts and converted by the standard library.
func referenceFloat(_ bytes: [UInt8], _ index: Int, _ encoding: ScalarEncoding) -> Float {
    let size = encoding.byteCount
    let raw = (0..<size).reduce(UInt64(0)) { $0 | UInt64(bytes[index * size + $1]) << (8 * UInt64($1)) }
    switch encoding {
    case .float32: return Float(bitPattern: UInt32(raw))
    case .float64: return Float(Double(bitPattern: raw))
    case .float16: return referenceFloat16(UInt16(raw))
    case .bfloat16: return referenceBFloat16(UInt16(raw))
    case .int8: return Float(Int8(truncatingIfNeeded: raw))
    case .uint8: return Float(UInt8(raw))
    case .int16: return Float(Int16(truncatingIfNeeded: raw))
    case .uint16: return Float(UInt16(raw))
    case .int32: return Float(Int32(truncatingIfNeeded: raw))
    case .uint32: return Float(UInt32(raw))
    case .int64: return Float(Int64(bitPattern: raw))
    case .uint64: return Float(raw)
    case .bool: return raw == 0 ? 0 : 1
    }
}

/// Bitwise equality, except that any NaN matches any NaN (the references do not model payloads).
func sameFloat(_ a: Float, _ b: Float) -> Bool { a.isNaN ? b.isNaN : a.bitPattern == b.bitPattern }

@Suite("Scalar conversions")
struct ScalarEncodingTests {
    @Test("known bit patterns convert exactly, in bulk and one by one", arguments: scalarRows, Backing.allCases)
    func knownValues(_ row: ScalarRow, _ backing: Backing) throws {
        let view = backing.view(row.bytes)
        let bulk = try view.floats(as: row.encoding, "a tensor")
        #expect(bulk.map(\.bitPattern) == row.expected)
        for index in row.expected.indices {
            #expect(try view.float(at: index, as: row.encoding, "an element").bitPattern == row.expected[index])
        }
        #expect(throws: ByteReadError(what: "an element", offset: row.bytes.count,
                                      problem: .truncated(needed: row.encoding.byteCount, available: row.bytes.count))) {
            try view.float(at: row.expected.count, as: row.encoding, "an element")
        }
    }

    @Test("every float16 pattern: arithmetic reference, Swift's Float16, NaN sign and payload kept")
    func everyFloat16() throws {
        let bytes = (0...UInt16.max).flatMap { littleEndianBytes(UInt64($0), 2) }
        let floats = try ByteView(bytes).floats(as: .float16, "all halves")
        #expect(floats.count == 65536)
        var mismatches: [UInt16] = []
        for bits in 0...UInt16.max {
            let value = floats[Int(bits)]
            var good = sameFloat(value, referenceFloat16(bits)) && Float(float16Bits: bits).bitPattern == value.bitPattern
            if value.isNaN {
                good = good && value.bitPattern == UInt32(bits & 0x8000) << 16 | 0x7F80_0000 | UInt32(bits & 0x3FF) << 13
            }
            #if !(os(macOS) && arch(x86_64))
            good = good && sameFloat(value, Float(Float16(bitPattern: bits)))
            #endif
            if !good { mismatches.append(bits) }
        }
        #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(8).map { String($0, radix: 16) })")
    }

    @Test("every bfloat16 pattern against arithmetic in Double")
    func everyBFloat16() throws {
        let bytes = (0...UInt16.max).flatMap { littleEndianBytes(UInt64($0), 2) }
        let floats = try ByteView(Data(bytes)).floats(as: .bfloat16, "all bfloat16s")
        let mismatches = (0...UInt16.max).filter { bits in
            let value = floats[Int(bits)]
            return !(sameFloat(value, referenceBFloat16(bits)) && value.bitPattern == UInt32(bits) << 16)
        }
        #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(8).map { String($0, radix: 16) })")
    }

    @Test("unaligned runs and every loop remainder from 0 to 67 elements", arguments: ScalarEncoding.allCases)
    func unalignedRunsOfEveryLength(_ encoding: ScalarEncoding) throws {
        var generator = SeededGenerator(seed: 5)
        let pool = (0..<(68 * 8 + 16)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        for misalignment in 0..<8 {
            for elements in 0...67 {
                let length = elements * encoding.byteCount
                for backing in [Backing.array, .data] {
                    let run = try backing.view(pool).slice(at: misalignment, count: length, "a run")
                    let expected = Array(pool[misalignment..<(misalignment + length)])
                    let floats = try run.floats(as: encoding, "a run")
                    #expect(floats.count == elements)
                    let wrong = floats.indices.filter { !sameFloat(floats[$0], referenceFloat(expected, $0, encoding)) }
                    #expect(wrong.isEmpty, "\(backing), offset \(misalignment), \(elements) elements: \(wrong.prefix(4))")
                }
            }
        }
    }

    @Test("a run that is not whole elements is refused", arguments: ScalarEncoding.allCases.filter { $0.byteCount > 1 })
    func partialElements(_ encoding: ScalarEncoding) {
        let view = ByteView([UInt8](repeating: 0x3C, count: 2 * encoding.byteCount + 1))
        #expect(throws: ByteReadError(what: "w", offset: 0,
                                      problem: .partialElement(byteCount: view.count, elementSize: encoding.byteCount))) {
            try view.floats(as: encoding, "w")
        }
    }

    // MARK: - Writing

    @Test func appendingLittleEndianIntegersAndFloats() throws {
        var data = Data()
        data.appendLittleEndian(UInt32(0x0102_0304))
        data.appendLittleEndian(Int16(-2))
        data.appendLittleEndian(UInt64(1) << 56)
        #expect([UInt8](data) == [0x04, 0x03, 0x02, 0x01, 0xFE, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0x01])
        let values: [Float] = [1.5, -0.0, .infinity, Float(bitPattern: 0x7FA0_0001), .leastNonzeroMagnitude, -123.456]
        var floats = Data([0xAA])
        floats.appendLittleEndian(values)
        #expect([UInt8](floats) == [0xAA] + values.flatMap { littleEndianBytes(UInt64($0.bitPattern), 4) })
        let back = try ByteView(floats).slice(from: 1, "the floats").floats(as: .float32, "the floats")
        #expect(back.map(\.bitPattern) == values.map(\.bitPattern))
        var empty = Data()
        empty.appendLittleEndian([Float]())
        #expect(empty.isEmpty)
    }
}
