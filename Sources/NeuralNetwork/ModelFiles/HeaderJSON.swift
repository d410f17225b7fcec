/// A small strict JSON parser for safetensors headers: keeps object keys in order (so duplicates are caught)
/// and numbers as written (so offsets are read as exact integers).
import Tensors

/// A parsed JSON value.
enum HeaderJSON: Equatable {
    case object([(key: String, value: HeaderJSON)])
    case array([HeaderJSON])
    case string(String)
    /// The number's text exactly as written.
    case number(String)
    case bool(Bool)
    case null

    static func == (lhs: HeaderJSON, rhs: HeaderJSON) -> Bool {
        switch (lhs, rhs) {
        case let (.object(a), .object(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case let (.array(a), .array(b)): return a == b
        case let (.string(a), .string(b)): return a == b
        case let (.number(a), .number(b)): return a == b
        case let (.bool(a), .bool(b)): return a == b
        case (.null, .null): return true
        default: return false
        }
    }

    /// The value as a non-negative integer, when it is a number written without sign, fraction or exponent
    /// that fits in an `Int`.
    var nonNegativeInteger: Int? {
        guard case let .number(text) = self, !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let value = Int(text) else { return nil }
        return value
    }

    /// A short rendering for error messages.
    var summary: String {
        switch self {
        case .object: return "an object"
        case .array(let items): return "[" + items.map(\.summary).joined(separator: ", ") + "]"
        case .string(let s): return "\"\(s.prefix(40))\""
        case .number(let n): return String(n.prefix(40))
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        }
    }

    /// Parses one JSON value filling `bytes`, allowing surrounding whitespace (safetensors pads with spaces).
    /// Throws a message naming the byte offset of the first problem.
    static func parse(_ bytes: ByteView) throws -> HeaderJSON {
        // One copy into an array (a header is kilobytes): this parser looks at every byte several times, and a
        // checked array subscript is the cheapest safe way to do that (a `ByteView` costs ~8× more per byte).
        var parser = Parser(bytes: bytes.bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.failure("unexpected bytes after the JSON value") }
        return value
    }

    struct ParseError: Error { let message: String }

    private struct Parser {
        let bytes: [UInt8]
        var position = 0
        /// Headers are flat (object → object → array): anything deeper is hostile.
        let maximumDepth = 16

        init(bytes: [UInt8]) { self.bytes = bytes }

        func failure(_ message: String) -> ParseError { ParseError(message: "\(message) at byte \(position)") }

        var current: UInt8? { position < bytes.count ? bytes[position] : nil }

        mutating func skipWhitespace() {
            while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
        }

        mutating func expect(_ literal: String) throws {
            for byte in literal.utf8 {
                guard current == byte else { throw failure("expected '\(literal)'") }
                position += 1
            }
        }

        mutating func parseValue(depth: Int) throws -> HeaderJSON {
            guard depth <= maximumDepth else { throw failure("nesting deeper than \(maximumDepth) levels") }
            guard let byte = current else { throw failure("unexpected end of header") }
            switch byte {
            case UInt8(ascii: "{"): return try parseObject(depth: depth)
            case UInt8(ascii: "["): return try parseArray(depth: depth)
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"): try expect("true"); return .bool(true)
            case UInt8(ascii: "f"): try expect("false"); return .bool(false)
            case UInt8(ascii: "n"): try expect("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
            default: throw failure("unexpected character '\(Unicode.Scalar(byte))'")
            }
        }

        mutating func parseObject(depth: Int) throws -> HeaderJSON {
            position += 1  // {
            var members: [(key: String, value: HeaderJSON)] = []
            skipWhitespace()
            if current == UInt8(ascii: "}") { position += 1; return .object(members) }
            while true {
                skipWhitespace()
                guard current == UInt8(ascii: "\"") else { throw failure("expected a string key") }
                let key = try parseString()
                skipWhitespace()
                try expect(":")
                skipWhitespace()
                members.append((key, try parseValue(depth: depth + 1)))
                skipWhitespace()
                if current == UInt8(ascii: ",") { position += 1; continue }
                try expect("}")
                return .object(members)
            }
        }

        mutating func parseArray(depth: Int) throws -> HeaderJSON {
            position += 1  // [
            var items: [HeaderJSON] = []
            skipWhitespace()
            if current == UInt8(ascii: "]") { position += 1; return .array(items) }
            while true {
                skipWhitespace()
                items.append(try parseValue(depth: depth + 1))
                skipWhitespace()
                if current == UInt8(ascii: ",") { position += 1; continue }
                try expect("]")
                return .array(items)
            }
        }

        mutating func parseNumber() throws -> String {
            let start = position
            if current == UInt8(ascii: "-") { position += 1 }
            func digits(_ parser: inout Parser) -> Int {
                let from = parser.position
                while let byte = parser.current, byte >= 0x30 && byte <= 0x39 { parser.position += 1 }
                return parser.position - from
            }
            let integerDigits = digits(&self)
            guard integerDigits > 0 else { throw failure("malformed number") }
            if integerDigits > 1 && bytes[position - integerDigits] == UInt8(ascii: "0") {
                throw failure("number with a leading zero")
            }
            if current == UInt8(ascii: ".") {
                position += 1
                guard digits(&self) > 0 else { throw failure("malformed number") }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                position += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
                guard digits(&self) > 0 else { throw failure("malformed number") }
            }
            return String(decoding: bytes[start..<position], as: UTF8.self)
        }

        mutating func parseString() throws -> String {
            position += 1  // opening quote
            var scalars = String.UnicodeScalarView()
            var run = position  // start of the current run of plain bytes
            func flush(_ parser: Parser, upTo end: Int) throws {
                // Strict UTF-8 decoding (overlong forms, surrogates and truncated sequences are errors).
                var bytes = parser.bytes[run..<end].makeIterator()
                var decoder = UTF8()
                decoding: while true {
                    switch decoder.decode(&bytes) {
                    case .scalarValue(let scalar): scalars.append(scalar)
                    case .emptyInput: break decoding
                    case .error: throw parser.failure("invalid UTF-8 in a string")
                    }
                }
            }
            while true {
                guard let byte = current else { throw failure("unterminated string") }
                if byte == UInt8(ascii: "\"") {
                    try flush(self, upTo: position)
                    position += 1
                    return String(scalars)
                }
                if byte < 0x20 { throw failure("control character in a string") }
                if byte != UInt8(ascii: "\\") { position += 1; continue }
                try flush(self, upTo: position)
                position += 1
                guard let escape = current else { throw failure("unterminated escape") }
                position += 1
                switch escape {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"):
                    var code = try parseHex4()
                    if (0xD800..<0xDC00).contains(code) {  // a high surrogate needs its low half
                        guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                              bytes[position + 1] == UInt8(ascii: "u") else { throw failure("unpaired surrogate") }
                        position += 2
                        let low = try parseHex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw failure("unpaired surrogate") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw failure("invalid \\u escape") }
                    scalars.append(scalar)
                default: throw failure("invalid escape")
                }
                run = position
            }
        }

        mutating func parseHex4() throws -> UInt32 {
            var value: UInt32 = 0
            for _ in 0..<4 {
                guard let byte = current, let digit = Self.hexValue(byte) else { throw failure("invalid \\u escape") }
                value = value << 4 | digit
                position += 1
            }
            return value
        }

        static func hexValue(_ byte: UInt8) -> UInt32? {
            switch byte {
            case 0x30...0x39: return UInt32(byte - 0x30)
            case 0x41...0x46: return UInt32(byte - 0x41 + 10)
            case 0x61...0x66: return UInt32(byte - 0x61 + 10)
            default: return nil
            }
        }
    }

    /// `text` as a JSON string literal.
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
