// Table tests of the checked byte reader: every read at every offset of a short buffer (past both ends
// included) on every backing, strings, the dtype conversions against independent references, and varints.
import Foundation
import Testing
@testable import Tensors

// MARK: - Backings

/// The four ways a view can hold the same bytes; every read must behave the same on each.
enum Backing: String, CaseIterable, Sendable {
    case array, data
    /// A `Data` slice, whose indices do not start at 0.
    case dataSlice
    /// A slice of a larger view, whose offsets start again at 0.
    case viewSlice

    func view(_ bytes: [UInt8]) -> ByteView {
        switch self {
        case .array: return ByteView(bytes)
        case .data: return ByteView(Data(bytes))
        case .dataSlice:
            let padded = Data([0xEE, 0xEE, 0xEE] + bytes + [0xEE])
            return ByteView(padded[3..<(3 + bytes.count)])
        case .viewSlice:
            return try! ByteView([0xEE, 0xEE] + bytes + [0xEE, 0xEE]).slice(at: 2, count: bytes.count, "the test bytes")
        }
    }
}

/// Eleven distinct bytes, high bits set in some so that sign extension would show.
let shortBuffer: [UInt8] = [0x01, 0x82, 0x03, 0xF4, 0x05, 0x86, 0x07, 0xA8, 0x09, 0xFA, 0x0B]

// MARK: - Fixed-width reads

/// One kind of fixed-size read and how to do it on a view, its result as a UInt64 bit pattern.
struct FixedRead: Sendable, CustomTestStringConvertible {
    let name: String
    let size: Int
    let order: ByteOrder
    let read: @Sendable (ByteView, Int) throws(ByteReadError) -> UInt64

    var testDescription: String { name }

    /// The value of `size` bytes at `offset` computed by shifts, independently of the reader.
    func reference(_ bytes: [UInt8], at offset: Int) -> UInt64 {
        (0..<size).reduce(UInt64(0)) { value, index in
            let byte = UInt64(bytes[offset + index])
            return order == .littleEndian ? value | byte << (8 * UInt64(index)) : value << 8 | byte
        }
    }
}

let fixedReads: [FixedRead] = [
    FixedRead(name: "uint8", size: 1, order: .littleEndian) { view, offset throws(ByteReadError) in
        UInt64(try view.uint8(at: offset, "a field"))
    },
    FixedRead(name: "UInt16 little-endian", size: 2, order: .littleEndian) { view, offset throws(ByteReadError) in
        UInt64(try view.integer(UInt16.self, at: offset, .littleEndian, "a field"))
    },
    FixedRead(name: "UInt16 big-endian", size: 2, order: .bigEndian) { view, offset throws(ByteReadError) in
        UInt64(try view.integer(UInt16.self, at: offset, .bigEndian, "a field"))
    },
    FixedRead(name: "Int16 little-endian", size: 2, order: .littleEndian) { view, offset throws(ByteReadError) in
        UInt64(UInt16(bitPattern: try view.integer(Int16.self, at: offset, .littleEndian, "a field")))
    },
    FixedRead(name: "UInt32 little-endian", size: 4, order: .littleEndian) { view, offset throws(ByteReadError) in
        UInt64(try view.integer(UInt32.self, at: offset, .littleEndian, "a field"))
    },
    FixedRead(name: "Int32 big-endian", size: 4, order: .bigEndian) { view, offset throws(ByteReadError) in
        UInt64(UInt32(bitPattern: try view.integer(Int32.self, at: offset, .bigEndian, "a field")))
    },
    FixedRead(name: "UInt64 little-endian", size: 8, order: .littleEndian) { view, offset throws(ByteReadError) in
        try view.integer(UInt64.self, at: offset, .littleEndian, "a field")
    },
    FixedRead(name: "Int64 big-endian", size: 8, order: .bigEndian) { view, offset throws(ByteReadError) in
        UInt64(bitPattern: try view.integer(Int64.self, at: offset, .bigEndian, "a field"))
    },
    FixedRead(name: "3-byte unsigned little-endian", size: 3, order: .littleEndian) { view, offset throws(ByteReadError) in
        try view.unsignedInteger(byteCount: 3, at: offset, .littleEndian, "a field")
    },
    FixedRead(name: "5-byte unsigned big-endian", size: 5, order: .bigEndian) { view, offset throws(ByteReadError) in
        try view.unsignedInteger(byteCount: 5, at: offset, .bigEndian, "a field")
    },
    FixedRead(name: "0-byte unsigned", size: 0, order: .littleEndian) { view, offset throws(ByteReadError) in
        try view.unsignedInteger(byteCount: 0, at: offset, .littleEndian, "a field")
    },
    FixedRead(name: "3-byte slice", size: 3, order: .littleEndian) { view, offset throws(ByteReadError) in
        let slice = try view.slice(at: offset, count: 3, "a field")
        return (0..<3).reduce(UInt64(0)) { $0 | UInt64(slice[$1]) << (8 * UInt64($1)) }
    },
    FixedRead(name: "UInt32 little-endian through a cursor", size: 4, order: .littleEndian) {
        view, offset throws(ByteReadError) in
        var reader = ByteReader(view, offset: offset)
        return UInt64(try reader.integer(UInt32.self, .littleEndian, "a field"))
    },
    FixedRead(name: "6 bytes through a cursor", size: 6, order: .bigEndian) { view, offset throws(ByteReadError) in
        var reader = ByteReader(view, offset: offset)
        let bytes = try reader.bytes(6, "a field")
        return bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    },
]

@Suite("Byte reader")
struct ByteReaderTests {
    @Test("every fixed-width read at every offset, before, inside and past the end",
          arguments: fixedReads, Backing.allCases)
    func everyReadAtEveryOffset(_ read: FixedRead, _ backing: Backing) {
        let view = backing.view(shortBuffer)
        for offset in -3...(shortBuffer.count + 3) {
            let fits = offset >= 0 && offset + read.size <= shortBuffer.count
            do {
                let value = try read.read(view, offset)
                #expect(fits, "offset \(offset): read \(value) but the bytes end at \(shortBuffer.count)")
                if fits { #expect(value == read.reference(shortBuffer, at: offset), "offset \(offset)") }
            } catch {
                #expect(!fits, "offset \(offset): refused although it fits: \(error)")
                let problem: ByteReadError.Problem = offset < 0
                    ? .invalidRange(count: read.size) : .truncated(needed: read.size, available: shortBuffer.count)
                #expect(error == ByteReadError(what: "a field", offset: offset, problem: problem), "offset \(offset)")
            }
        }
    }

    @Test("extreme offsets and counts never overflow", arguments: Backing.allCases)
    func extremeOffsets(_ backing: Backing) {
        let view = backing.view(shortBuffer)
        for (offset, count) in [(Int.max, 1), (1, Int.max), (Int.max, Int.max), (Int.min, 1), (0, -1), (5, Int.min)] {
            #expect(throws: ByteReadError.self, "\(offset), \(count)") {
                try view.slice(at: offset, count: count, "a run")
            }
        }
        #expect(throws: ByteReadError.self) { try view.integer(UInt64.self, at: Int.max - 3, .littleEndian, "x") }
        #expect(throws: ByteReadError.self) { try view.float(at: Int.max / 2, as: .float32, "x") }
        #expect(throws: ByteReadError.self) { try view.float(at: -1, as: .uint8, "x") }
        #expect(view.byte(at: Int.max) == nil && view.byte(at: -1) == nil && view.byte(at: 10) == 0x0B)
    }

    @Test("the error names what was read, where, and how much there is")
    func errorMessage() throws {
        let view = ByteView([UInt8](repeating: 0, count: 96))
        #expect {
            try view.integer(UInt64.self, at: 120, .littleEndian, "the header length")
        } throws: { error in
            "\(error)" == "the header length needs 8 bytes at offset 120, but the data has 96"
        }
        #expect("\(ByteReadError(what: "a name", offset: 7, problem: .invalidUTF8))" == "a name at offset 7 is not valid UTF-8")
    }

    // MARK: - Slices and the collection

    @Test("slices share offsets from their own start; slices of slices too", arguments: Backing.allCases)
    func slicesOfSlices(_ backing: Backing) throws {
        let view = backing.view(shortBuffer)
        let middle = try view.slice(2..<9, "the middle")
        #expect(Array(middle) == Array(shortBuffer[2..<9]))
        #expect(middle.bytes == Array(shortBuffer[2..<9]))
        let inner = try middle.slice(from: 3, "the rest")
        #expect(inner.bytes == Array(shortBuffer[5..<9]) && inner.count == 4 && inner.first == 0x86)
        #expect(try inner.integer(UInt16.self, at: 2, .bigEndian, "x") == 0xA809)
        #expect(throws: ByteReadError(what: "x", offset: 3, problem: .truncated(needed: 2, available: 4))) {
            try inner.integer(UInt16.self, at: 3, .bigEndian, "x")
        }
        #expect(try view.slice(from: shortBuffer.count, "the end").isEmpty)
        #expect(view.starts(with: [0x01, 0x82]) && !view.starts(with: [0x82]))
        #expect(String(decoding: try ByteView(Array("abc".utf8)).slice(1..<3, "x"), as: UTF8.self) == "bc")
    }

    // MARK: - The cursor

    @Test("a cursor advances on success and stays put on failure", arguments: Backing.allCases)
    func cursor(_ backing: Backing) throws {
        var reader = ByteReader(backing.view(shortBuffer))
        #expect(try reader.uint8("the first byte") == 0x01)
        #expect(try reader.integer(UInt16.self, .littleEndian, "a pair") == 0x0382)
        #expect(reader.offset == 3 && reader.remaining == 8 && reader.peek() == 0xF4)
        try reader.skip(4, "four bytes")
        #expect(reader.offset == 7)
        #expect(throws: ByteReadError(what: "a long", offset: 7, problem: .truncated(needed: 8, available: 11))) {
            try reader.integer(UInt64.self, .littleEndian, "a long")
        }
        #expect(throws: ByteReadError(what: "a run", offset: 7, problem: .invalidRange(count: -1))) {
            try reader.skip(-1, "a run")
        }
        #expect(reader.offset == 7)
        #expect(try reader.bytes(4, "the tail").bytes == [0xA8, 0x09, 0xFA, 0x0B])
        #expect(reader.isAtEnd && reader.peek() == nil)
        #expect(throws: ByteReadError.self) { try reader.uint8("past the end") }
        reader.offset = 100
        #expect(reader.remaining == 0 && reader.isAtEnd)
        #expect(throws: ByteReadError(what: "x", offset: 100, problem: .truncated(needed: 1, available: 11))) {
            try reader.uint8("x")
        }
    }

    // MARK: - Strings

    /// (bytes, the string, or nil when the bytes are not UTF-8)
    static let strings: [([UInt8], String?)] = [
        ([], ""),
        (Array("state_dict".utf8), "state_dict"),
        ([0x63, 0x61, 0x66, 0xC3, 0xA9], "café"),
        ([0xF0, 0x9F, 0x98, 0x80], "😀"),
        ([0xEF, 0xBB, 0xBF, 0x41], "\u{FEFF}A"),
        ([0xC0, 0xAF], nil),  // overlong '/'
        ([0xE0, 0x80, 0xAF], nil),  // overlong, three bytes
        ([0xED, 0xA0, 0x80], nil),  // a UTF-16 surrogate
        ([0xE2, 0x82], nil),  // cut short
        ([0x41, 0xFF], nil),
        ([0x80], nil),  // a lone continuation byte
        ([0xF4, 0x90, 0x80, 0x80], nil),  // beyond U+10FFFF
    ]

    @Test("strings are strict UTF-8; the error is at the string's start", arguments: 0..<strings.count)
    func strictStrings(_ row: Int) throws {
        let (bytes, expected) = Self.strings[row]
        for backing in Backing.allCases {
            let view = backing.view([0x58, 0x58] + bytes + [0x2E])
            var reader = ByteReader(view, offset: 2)
            do {
                let text = try reader.string(bytes.count, "a key")
                #expect(text == expected, "\(backing)")
                #expect(reader.offset == 2 + bytes.count)
            } catch {
                #expect(expected == nil, "\(backing): \(error)")
                #expect(error == ByteReadError(what: "a key", offset: 2, problem: .invalidUTF8))
                #expect(reader.offset == 2)
                #expect(try view.slice(at: 2, count: bytes.count, "x").lossyString.contains("\u{FFFD}"))
            }
        }
    }

    @Test func stringPastTheEndIsTruncatedNotInvalid() {
        var reader = ByteReader(ByteView(Array("abc".utf8)))
        #expect(throws: ByteReadError(what: "a name", offset: 0, problem: .truncated(needed: 4, available: 3))) {
            try reader.string(4, "a name")
        }
    }
}

// MARK: - Varints

/// A varint's bytes and what reading them must give.
struct VarintRow: Sendable, CustomTestStringConvertible {
    let bytes: [UInt8]
    /// The value and the bytes it takes, or the problem.
    let expected: Result<UInt64, ByteReadError.Problem>
    var testDescription: String { bytes.map { String(format: "%02x", $0) }.joined(separator: " ") }

    init(_ bytes: [UInt8], _ value: UInt64) {
        self.bytes = bytes
        self.expected = .success(value)
    }

    init(_ bytes: [UInt8], problem: ByteReadError.Problem) {
        self.bytes = bytes
        self.expected = .failure(problem)
    }
}

extension ByteReadError.Problem: Error {}

let varintRows: [VarintRow] = [
    VarintRow([0x00], 0),
    VarintRow([0x01], 1),
    VarintRow([0x7F], 127),
    VarintRow([0x80, 0x01], 128),
    VarintRow([0xAC, 0x02], 300),  // the protobuf documentation's example
    VarintRow([0xFF, 0x7F], 16383),
    VarintRow([0x80, 0x80, 0x01], 16384),
    VarintRow([0xFF, 0xFF, 0xFF, 0xFF, 0x0F], 0xFFFF_FFFF),
    VarintRow([0x80, 0x80, 0x80, 0x80, 0x10], 1 << 32),
    VarintRow([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], (1 << 56) - 1),
    VarintRow([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], 1 << 56),
    VarintRow([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], 1 << 63),
    VarintRow([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], UInt64.max),  // int64 −1
    VarintRow([0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], UInt64.max - 1),  // int64 −2
    // Non-minimal encodings decode (protobuf accepts them): zero padded to 2, 3 and 10 bytes.
    VarintRow([0x80, 0x00], 0),
    VarintRow([0x81, 0x80, 0x00], 1),
    VarintRow([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00], 0),
    // Too long: an eleventh byte, or a tenth byte carrying bits past 64.
    VarintRow([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00], problem: .varintTooLong),
    VarintRow([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02], problem: .varintTooLong),
    VarintRow([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], problem: .varintTooLong),
    VarintRow([UInt8](repeating: 0xFF, count: 12), problem: .varintTooLong),
    // Truncated: the bytes end while the continuation bit says more follow.
    VarintRow([], problem: .truncated(needed: 1, available: 0)),
    VarintRow([0x80], problem: .truncated(needed: 2, available: 1)),
    VarintRow([0xFF, 0xFF, 0xFF], problem: .truncated(needed: 4, available: 3)),
    VarintRow([UInt8](repeating: 0x80, count: 9), problem: .truncated(needed: 10, available: 9)),
]

/// The reference encoder: 7 bits at a time, least significant first, minimal length.
func encodeVarint(_ value: UInt64) -> [UInt8] {
    var bytes: [UInt8] = []
    var rest = value
    repeat {
        let group = UInt8(rest & 0x7F)
        rest >>= 7
        bytes.append(rest == 0 ? group : group | 0x80)
    } while rest != 0
    return bytes
}

@Suite("Varints")
struct VarintTests {
    @Test("varints of 1 to 10 bytes, overlong and truncated", arguments: varintRows)
    func table(_ row: VarintRow) {
        for backing in Backing.allCases {
            // Behind two bytes of something else, so offsets in errors are the varint's own.
            var reader = ByteReader(backing.view([0x12, 0x34] + row.bytes), offset: 2)
            do {
                let value = try reader.varint("a field number")
                guard case let .success(expected) = row.expected else {
                    Issue.record("\(backing): read \(value), expected \(row.expected)")
                    continue
                }
                #expect(value == expected, "\(backing)")
                #expect(reader.isAtEnd, "\(backing): the varint must use all of its bytes")
            } catch {
                guard case let .failure(problem) = row.expected else {
                    Issue.record("\(backing): refused: \(error)")
                    continue
                }
                let shifted: ByteReadError.Problem
                if case let .truncated(needed, available) = problem {
                    shifted = .truncated(needed: needed, available: available + 2)
                } else {
                    shifted = problem
                }
                #expect(error == ByteReadError(what: "a field number", offset: 2, problem: shifted), "\(backing)")
                #expect(reader.offset == 2, "a failed read must not move the cursor")
            }
        }
    }

    @Test("every length from 1 to 10 bytes round-trips, and every proper prefix is truncated")
    func roundTripsAndPrefixes() throws {
        var values: [UInt64] = [0, 1, UInt64.max, UInt64.max - 1]
        for shift in 1..<64 { values += [(1 << UInt64(shift)) - 1, 1 << UInt64(shift), (1 << UInt64(shift)) + 1] }
        var lengths = Set<Int>()
        for value in values {
            let bytes = encodeVarint(value)
            lengths.insert(bytes.count)
            var reader = ByteReader(ByteView(bytes + [0x2A]))
            #expect(try reader.varint("v") == value)
            #expect(reader.offset == bytes.count && reader.peek() == 0x2A)
            for cut in 0..<bytes.count {
                var short = ByteReader(ByteView(Array(bytes[..<cut])))
                #expect(throws: ByteReadError(what: "v", offset: 0, problem: .truncated(needed: cut + 1, available: cut))) {
                    try short.varint("v")
                }
            }
        }
        #expect(lengths == Set(1...10))
    }

    @Test func consecutiveVarintsAndZigZag() throws {
        // sint64 zigzag: 0 → 0, −1 → 1, 1 → 2, −2 → 3, …, and the extremes.
        let pairs: [(UInt64, Int64)] = [
            (0, 0), (1, -1), (2, 1), (3, -2), (4_294_967_294, 2_147_483_647), (4_294_967_295, -2_147_483_648),
            (UInt64.max - 1, Int64.max), (UInt64.max, Int64.min),
        ]
        var reader = ByteReader(ByteView(pairs.flatMap { encodeVarint($0.0) }))
        for (raw, signed) in pairs { #expect(try reader.zigZagVarint("s") == signed, "\(raw)") }
        #expect(reader.isAtEnd)
    }
}
