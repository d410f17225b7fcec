/// Why a checked read of a byte buffer failed: what was being read, where, and how the bytes fell short.

/// A read that the bytes cannot satisfy. `what` names the thing being read (as the caller put it: "the header
/// length", "tensor 'fc.weight'"), `offset` is where the read started in the view it was made on. Parsers catch
/// it and turn it into their own error, which adds the file's name.
public struct ByteReadError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Problem: Equatable, Sendable {
        /// The read needs `needed` bytes at the offset but the view holds only `available` bytes in all.
        case truncated(needed: Int, available: Int)
        /// A byte count or offset that is negative (a hostile length that became negative on the way).
        case invalidRange(count: Int)
        /// The bytes are not well-formed UTF-8 (overlong forms, surrogates and cut sequences included).
        case invalidUTF8
        /// A varint longer than 10 bytes, or whose tenth byte carries bits beyond 64.
        case varintTooLong
        /// A run of `byteCount` bytes that does not hold whole elements of `elementSize` bytes.
        case partialElement(byteCount: Int, elementSize: Int)
    }

    public let what: String
    public let offset: Int
    public let problem: Problem

    public init(what: String, offset: Int, problem: Problem) {
        self.what = what
        self.offset = offset
        self.problem = problem
    }

    public var description: String {
        switch problem {
        case let .truncated(needed, available):
            return "\(what) needs \(needed) bytes at offset \(offset), but the data has \(available)"
        case let .invalidRange(count):
            return "\(what) asks for \(count) bytes at offset \(offset), which is not a valid range"
        case .invalidUTF8:
            return "\(what) at offset \(offset) is not valid UTF-8"
        case .varintTooLong:
            return "\(what) at offset \(offset) is a varint longer than 10 bytes or beyond 64 bits"
        case let .partialElement(byteCount, elementSize):
            return "\(what) at offset \(offset) has \(byteCount) bytes, not a whole number of \(elementSize)-byte elements"
        }
    }
}
