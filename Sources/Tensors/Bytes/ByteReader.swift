/// A cursor over a `ByteView`: sequential checked reads (integers, slices, strings, varints) that advance on success.

/// Reads a binary format front to back. Each read names what it reads; when the bytes cannot satisfy it, it
/// throws `ByteReadError` with that name and the offset where the read began, and the cursor does not move.
public struct ByteReader: Sendable {
    /// The bytes being read.
    public let view: ByteView
    /// Where the next read begins. May be set anywhere: a read from outside the view throws.
    public var offset: Int

    public init(_ view: ByteView, offset: Int = 0) {
        self.view = view
        self.offset = offset
    }

    /// Bytes left after the cursor (0 when it lies past the end).
    public var remaining: Int { offset >= 0 && offset <= view.count ? view.count - offset : 0 }

    public var isAtEnd: Bool { remaining == 0 }

    /// The next byte without moving, or nil at the end.
    public func peek() -> UInt8? { view.byte(at: offset) }

    // MARK: - Fixed-width reads

    public mutating func uint8(_ what: String) throws(ByteReadError) -> UInt8 {
        let value = try view.uint8(at: offset, what)
        offset += 1
        return value
    }

    /// A fixed-width integer in `order` (`reader.integer(UInt64.self, .littleEndian, "the header length")`).
    public mutating func integer<T: FixedWidthInteger>(_ type: T.Type, _ order: ByteOrder,
                                                       _ what: String) throws(ByteReadError) -> T {
        let value = try view.integer(type, at: offset, order, what)
        offset += MemoryLayout<T>.size
        return value
    }

    /// An unsigned integer of `byteCount` (0 to 8) bytes.
    public mutating func unsignedInteger(byteCount: Int, _ order: ByteOrder, _ what: String) throws(ByteReadError) -> UInt64 {
        let value = try view.unsignedInteger(byteCount: byteCount, at: offset, order, what)
        offset += byteCount
        return value
    }

    // MARK: - Runs of bytes

    /// The next `count` bytes as a view of their own.
    public mutating func bytes(_ count: Int, _ what: String) throws(ByteReadError) -> ByteView {
        let slice = try view.slice(at: offset, count: count, what)
        offset += count
        return slice
    }

    /// Moves past `count` bytes, which must exist.
    public mutating func skip(_ count: Int, _ what: String) throws(ByteReadError) {
        try view.checkRange(offset: offset, count: count, what)
        offset += count
    }

    /// The next `count` bytes as strict UTF-8; the error's offset is where the string begins.
    public mutating func string(_ count: Int, _ what: String) throws(ByteReadError) -> String {
        let slice = try view.slice(at: offset, count: count, what)
        do {
            let text = try slice.string(what)
            offset += count
            return text
        } catch {
            throw ByteReadError(what: what, offset: offset, problem: error.problem)
        }
    }

    // MARK: - Varints (protobuf)

    /// The longest varint: ⌈64 / 7⌉ bytes.
    public static let maximumVarintLength = 10

    /// An unsigned LEB128 varint as protobuf writes them: 7 bits a byte, least significant group first, the
    /// high bit set on every byte but the last. Non-minimal encodings (trailing 0x80 groups, as some writers pad
    /// negative int32s) are accepted, as protobuf accepts them; more than 10 bytes, or a tenth byte above 1
    /// (bits past 64), throws `.varintTooLong`; the end of the bytes inside a varint throws `.truncated`.
    public mutating func varint(_ what: String) throws(ByteReadError) -> UInt64 {
        var value: UInt64 = 0
        var position = offset
        for index in 0..<Self.maximumVarintLength {
            guard let byte = view.byte(at: position) else {
                throw ByteReadError(what: what, offset: offset,
                                    problem: .truncated(needed: position - offset + 1, available: view.count))
            }
            if index == Self.maximumVarintLength - 1 && byte > 1 {
                throw ByteReadError(what: what, offset: offset, problem: .varintTooLong)
            }
            value |= UInt64(byte & 0x7F) << (7 * UInt64(index))
            position += 1
            if byte & 0x80 == 0 {
                offset = position
                return value
            }
        }
        throw ByteReadError(what: what, offset: offset, problem: .varintTooLong)
    }

    /// A zigzag-encoded signed varint (protobuf's sint32 and sint64): 0, −1, 1, −2 … are stored as 0, 1, 2, 3 ….
    public mutating func zigZagVarint(_ what: String) throws(ByteReadError) -> Int64 {
        let raw = try varint(what)
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }
}
