/// An immutable, cheaply sliced view of bytes (a file's `Data` or a `[UInt8]`) whose every read is bounds-checked.
import Foundation

/// Bytes to parse: the one way binary formats (safetensors, pickle, zip, IDX, protobuf) look at their input.
///
/// A view shares its storage: slicing copies nothing, and a slice's offsets start again at 0, so a parser of a
/// member (a pickle inside a zip) counts from the member's own start. Every read that takes an offset or a
/// length from the data throws `ByteReadError` when the bytes cannot satisfy it; nothing here reads out of
/// bounds or traps on hostile input. The integer subscript is the exception, for loops whose bounds were
/// checked already: like an array's, it traps on a bad index (a programmer error, not a hostile file).
///
/// Unsafe pointers stay inside this type and its conversions (`ByteView+Scalars.swift`): the parsers above
/// see only offsets, counts and Swift values.
public struct ByteView: Sendable {
    @usableFromInline
    enum Storage: Sendable {
        case data(Data)
        case array([UInt8])
    }

    @usableFromInline let storage: Storage
    /// Where the view begins, as an index of the storage itself (a `Data` slice keeps its parent's indices).
    @usableFromInline let start: Int
    /// How many bytes the view holds.
    public let count: Int

    /// A view of all of `data` (a memory-mapped file stays mapped: nothing is copied).
    public init(_ data: Data) {
        storage = .data(data)
        start = data.startIndex
        count = data.count
    }

    /// A view of all of `bytes`.
    public init(_ bytes: [UInt8]) {
        storage = .array(bytes)
        start = 0
        count = bytes.count
    }

    @usableFromInline
    init(storage: Storage, start: Int, count: Int) {
        self.storage = storage
        self.start = start
        self.count = count
    }

    // MARK: - Checks

    /// Throws unless `length` bytes at `offset` lie inside the view; safe against overflow for any two Ints.
    @inlinable
    public func checkRange(offset: Int, count length: Int, _ what: String) throws(ByteReadError) {
        guard offset >= 0, length >= 0 else {
            throw ByteReadError(what: what, offset: offset, problem: .invalidRange(count: length))
        }
        guard offset <= count, length <= count - offset else {
            throw ByteReadError(what: what, offset: offset, problem: .truncated(needed: length, available: count))
        }
    }

    // MARK: - Bytes

    /// The byte at `offset`, or nil when `offset` is outside the view: for scanners that stop at the end.
    @inlinable
    public func byte(at offset: Int) -> UInt8? {
        guard offset >= 0, offset < count else { return nil }
        return unchecked(offset)
    }

    /// The byte at `offset`, or an error naming `what` when the view ends first.
    @inlinable
    public func uint8(at offset: Int, _ what: String) throws(ByteReadError) -> UInt8 {
        try checkRange(offset: offset, count: 1, what)
        return unchecked(offset)
    }

    @inlinable
    func unchecked(_ offset: Int) -> UInt8 {
        switch storage {
        case let .data(data): return data[start + offset]
        case let .array(array): return array[start + offset]
        }
    }

    /// The `length` bytes at `offset` as a view of their own (offsets counted from its start), sharing storage.
    @inlinable
    public func slice(at offset: Int, count length: Int, _ what: String) throws(ByteReadError) -> ByteView {
        try checkRange(offset: offset, count: length, what)
        return ByteView(storage: storage, start: start + offset, count: length)
    }

    /// The bytes in `range` as a view of their own.
    @inlinable
    public func slice(_ range: Range<Int>, _ what: String) throws(ByteReadError) -> ByteView {
        try slice(at: range.lowerBound, count: range.count, what)
    }

    /// The bytes from `offset` to the end as a view of their own.
    @inlinable
    public func slice(from offset: Int, _ what: String) throws(ByteReadError) -> ByteView {
        try checkRange(offset: offset, count: 0, what)
        return ByteView(storage: storage, start: start + offset, count: count - offset)
    }

    /// A copy of the view's bytes.
    public var bytes: [UInt8] {
        withBytes { [UInt8]($0) }
    }

    /// The same bytes in an array of their own. Parsers that walk bytes one at a time (JSON, pickle) run
    /// faster over an array: each subscript of a `Data` goes through its class storage and an exclusivity
    /// check (EfficientNet-Lite0's 22 kB safetensors header took ~2 ms longer to parse from `Data`).
    public func copied() -> ByteView {
        if case .array = storage, start == 0 { return self }
        return ByteView(bytes)
    }

    // MARK: - Integers and strings

    /// The fixed-width integer stored at `offset` in `order` (`UInt32.self`, `.bigEndian` for an IDX extent).
    @inlinable
    public func integer<T: FixedWidthInteger>(_ type: T.Type, at offset: Int, _ order: ByteOrder,
                                              _ what: String) throws(ByteReadError) -> T {
        let size = MemoryLayout<T>.size
        try checkRange(offset: offset, count: size, what)
        // One unaligned load: file formats place their fields at any offset.
        let raw = withBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
        return order == .littleEndian ? T(littleEndian: raw) : T(bigEndian: raw)
    }

    /// An unsigned integer of `byteCount` (0 to 8) bytes at `offset`, as pickle's LONG1 and zip's fields store them.
    @inlinable
    public func unsignedInteger(byteCount: Int, at offset: Int, _ order: ByteOrder,
                                _ what: String) throws(ByteReadError) -> UInt64 {
        precondition((0...8).contains(byteCount), "an unsigned integer of \(byteCount) bytes does not fit 64 bits")
        try checkRange(offset: offset, count: byteCount, what)
        var value: UInt64 = 0
        for index in 0..<byteCount {
            let byte = UInt64(unchecked(offset + (order == .littleEndian ? byteCount - 1 - index : index)))
            value = value << 8 | byte
        }
        return value
    }

    /// The whole view as strict UTF-8: overlong forms, surrogates and cut sequences throw `.invalidUTF8`.
    public func string(_ what: String) throws(ByteReadError) -> String {
        guard let text = withBytes({ String(validating: $0, as: UTF8.self) }) else {
            throw ByteReadError(what: what, offset: 0, problem: .invalidUTF8)
        }
        return text
    }

    /// The whole view as UTF-8 with ill-formed sequences replaced by U+FFFD: for names shown in messages.
    public var lossyString: String {
        withBytes { String(decoding: $0, as: UTF8.self) }
    }

    // MARK: - Raw access (this file and the conversions only)

    /// Calls `body` with the view's bytes. The pointer must not escape `body`.
    @inlinable
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch storage {
        case let .data(data):
            return try data.withUnsafeBytes { all in
                let from = start - data.startIndex
                return try body(UnsafeRawBufferPointer(rebasing: all[from..<(from + count)]))
            }
        case let .array(array):
            return try array.withUnsafeBytes { all in
                try body(UnsafeRawBufferPointer(rebasing: all[start..<(start + count)]))
            }
        }
    }
}

/// The order of a multi-byte integer's bytes in a file.
public enum ByteOrder: Sendable, Equatable {
    /// Least significant byte first: safetensors, pickle, zip, protobuf, torch storages.
    case littleEndian
    /// Most significant byte first: IDX headers, pickle's BINFLOAT.
    case bigEndian
}

// MARK: - Collection

/// Offsets 0..<count, so `first`, `starts(with:)`, `String(decoding:as:)` and iteration work as on an array;
/// `Array(view)` and `String(decoding:as:)` copy through contiguous storage in one step.
extension ByteView: RandomAccessCollection {
    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    @inlinable
    public subscript(position: Int) -> UInt8 {
        precondition(position >= 0 && position < count, "offset \(position) is outside a \(count)-byte view")
        return unchecked(position)
    }

    public func withContiguousStorageIfAvailable<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R? {
        try withBytes { raw in try raw.withMemoryRebound(to: UInt8.self) { try body($0) } }
    }
}
