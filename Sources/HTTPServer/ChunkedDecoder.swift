// The pure, incremental decoder of `Transfer-Encoding: chunked` request bodies, trailers included. No I/O.
import Foundation

/// Decodes a chunked body (RFC 9112 §7.1) from bytes as they arrive, handing out the data and keeping trailers.
/// Strict: hex sizes of at most 15 digits, CRLF after every chunk, bounded size lines and trailer section.
public struct ChunkedDecoder: Sendable {
    /// The outcome of one `decode` call.
    public enum Result: Sendable, Equatable {
        /// All `consumed` input bytes were used; the body continues.
        case needMore(consumed: Int)
        /// The body ended after `consumed` input bytes; the rest belongs to the next request.
        case done(consumed: Int)
        /// The encoding is malformed; answer 400 and close.
        case invalid(HTTPParseError)
    }

    private enum State: Sendable {
        case size, sizeExtension, sizeLF, data, dataCR, dataLF, trailerLine, trailerLF, done
    }

    /// Longest chunk-size line accepted.
    public let maxLineLength: Int
    /// Largest trailer section accepted.
    public let maxTrailerBytes: Int
    /// Trailer fields received after the last chunk.
    public private(set) var trailers = HTTPHeaders()
    /// Body bytes decoded so far.
    public private(set) var bodyBytes = 0

    private var state = State.size
    private var chunkRemaining = 0
    private var sizeDigits = 0
    private var lineLength = 0
    private var trailerLine: [UInt8] = []
    private var trailerBytes = 0

    public init(maxLineLength: Int = 1024, maxTrailerBytes: Int = 32768) {
        self.maxLineLength = maxLineLength
        self.maxTrailerBytes = maxTrailerBytes
    }

    /// True once the last chunk and trailers were read.
    public var isDone: Bool {
        if case .done = state { return true }
        return false
    }

    /// Decodes as much of `input` as possible, passing each run of body bytes to `output`.
    public mutating func decode(
        _ input: UnsafeRawBufferPointer, output: (UnsafeRawBufferPointer) throws -> Void
    ) rethrows -> Result {
        let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
        var index = 0
        let count = input.count
        func invalid(_ code: String, _ message: String) -> Result {
            .invalid(HTTPParseError(.badRequest, code, message))
        }
        while index < count {
            switch state {
            case .size:
                let byte = input[index]
                if let digit = CharacterClass.hexValue(byte) {
                    sizeDigits += 1
                    guard sizeDigits <= 15 else { return invalid("chunk_size_overflow", "chunk size has too many digits") }
                    chunkRemaining = chunkRemaining << 4 | digit
                } else if sizeDigits == 0 {
                    return invalid("invalid_chunk_size", "chunk size is not hexadecimal")
                } else if byte == cr {
                    state = .sizeLF
                } else if byte == UInt8(ascii: ";") || CharacterClass.isWhitespace(byte) {
                    state = .sizeExtension
                } else {
                    return invalid("invalid_chunk_size", "chunk size is not hexadecimal")
                }
                index += 1
                lineLength += 1
            case .sizeExtension:
                let byte = input[index]
                if byte == cr {
                    state = .sizeLF
                } else if !CharacterClass.isFieldValueByte(byte) {
                    return invalid("invalid_chunk_extension", "control byte in chunk extension")
                }
                index += 1
                lineLength += 1
            case .sizeLF:
                guard input[index] == lf else { return invalid("invalid_chunk_size", "chunk-size line without CRLF") }
                index += 1
                lineLength = 0
                sizeDigits = 0
                state = chunkRemaining == 0 ? .trailerLine : .data
            case .data:
                let take = min(chunkRemaining, count - index)
                try output(UnsafeRawBufferPointer(rebasing: input[index..<(index + take)]))
                index += take
                chunkRemaining -= take
                bodyBytes += take
                if chunkRemaining == 0 { state = .dataCR }
            case .dataCR:
                guard input[index] == cr else { return invalid("missing_chunk_crlf", "chunk data not followed by CRLF") }
                index += 1
                state = .dataLF
            case .dataLF:
                guard input[index] == lf else { return invalid("missing_chunk_crlf", "chunk data not followed by CRLF") }
                index += 1
                state = .size
            case .trailerLine:
                let byte = input[index]
                index += 1
                trailerBytes += 1
                guard trailerBytes <= maxTrailerBytes else {
                    return invalid("trailers_too_large", "trailer section larger than \(maxTrailerBytes) bytes")
                }
                if byte == cr {
                    state = .trailerLF
                } else if byte == lf {
                    return invalid("bare_lf", "trailer line ends with LF without CR")
                } else {
                    trailerLine.append(byte)
                }
            case .trailerLF:
                guard input[index] == lf else { return invalid("bare_cr", "CR not followed by LF in trailers") }
                index += 1
                if trailerLine.isEmpty {
                    state = .done
                    return .done(consumed: index)
                }
                guard let field = Self.parseTrailer(trailerLine) else {
                    return invalid("invalid_trailer", "malformed trailer field")
                }
                trailers.add(name: field.name, value: field.value)
                trailerLine.removeAll(keepingCapacity: true)
                state = .trailerLine
            case .done:
                return .done(consumed: index)
            }
            if lineLength > maxLineLength {
                return invalid("chunk_line_too_long", "chunk-size line longer than \(maxLineLength) bytes")
            }
        }
        if case .done = state { return .done(consumed: index) }
        return .needMore(consumed: index)
    }

    private static func parseTrailer(_ line: [UInt8]) -> (name: String, value: String)? {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0,
              line[..<colon].allSatisfy(CharacterClass.isTokenByte)
        else { return nil }
        let value = line[(colon + 1)...]
        guard value.allSatisfy(CharacterClass.isFieldValueByte) else { return nil }
        let name = String(decoding: line[..<colon], as: UTF8.self)
        let text = String(decoding: value, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        return (name, text)
    }
}
