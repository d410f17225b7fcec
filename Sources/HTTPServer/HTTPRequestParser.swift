// The pure, incremental HTTP/1.1 request-head parser: bytes in; complete, need more, or invalid out. No I/O.
import Foundation

/// Parses one request head (RFC 9112 §2–§6) from the bytes buffered so far, strictly: CRLF line endings only,
/// no obs-fold, token methods and header names, no control bytes in values, one Host in HTTP/1.1, and the
/// framing rules that stop request smuggling (Content-Length with Transfer-Encoding, conflicting lengths).
///
/// Feed it the bytes of the current request from their first byte, again each time more arrive; it remembers
/// how far it scanned so the total work stays linear. Limits are checked while scanning, so an oversized head is
/// rejected as soon as it crosses a limit, not when it ends. Call `reset()` before the next request.
public struct HTTPRequestParser: Sendable {
    /// The outcome of one `parse` call.
    public enum Result: Sendable, Equatable {
        /// A whole head was parsed; the body (if any) starts at `bytesUsed`.
        case complete(RequestHead, bytesUsed: Int)
        /// The head is not complete yet and no limit was crossed.
        case needMore
        /// The head is malformed or too large; answer with the error's status and close.
        case invalid(HTTPParseError)
    }

    /// The size limits the parser enforces.
    public struct Limits: Sendable {
        public var maxRequestLineLength: Int
        public var maxHeaderBytes: Int
        public var maxHeaderCount: Int

        public init(maxRequestLineLength: Int = 8192, maxHeaderBytes: Int = 32768, maxHeaderCount: Int = 100) {
            self.maxRequestLineLength = maxRequestLineLength
            self.maxHeaderBytes = maxHeaderBytes
            self.maxHeaderCount = maxHeaderCount
        }
    }

    public let limits: Limits
    // Scan state, carried between calls for the same request.
    private var position = 0  // next byte to scan
    private var start = 0  // first byte of the request line (after ignored leading CRLFs)
    private var started = false  // a byte other than a leading CRLF was seen
    private var lineStart = 0  // first byte of the current line
    private var requestLineEnded = false
    private var lineCount = 0  // complete lines, request line included

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Forgets the scan state, ready for the next request.
    public mutating func reset() {
        self = HTTPRequestParser(limits: limits)
    }

    /// Parses `bytes` statelessly: convenient for tests and one-shot inputs.
    public static func parse(_ bytes: [UInt8], limits: Limits = Limits()) -> Result {
        var parser = HTTPRequestParser(limits: limits)
        return bytes.withUnsafeBytes { parser.parse($0) }
    }

    /// Scans the newly arrived bytes of `bytes` (all bytes of this request so far, from its first byte).
    public mutating func parse(_ bytes: UnsafeRawBufferPointer) -> Result {
        let count = bytes.count
        precondition(count >= position, "parse must be fed the same bytes again plus new ones")
        let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
        while position < count {
            let byte = bytes[position]
            if !started {
                // RFC 9112 §2.2: ignore at least one empty line before the request line.
                if byte == cr || byte == lf {
                    if byte == lf && (position == 0 || bytes[position - 1] != cr) {
                        return .invalid(HTTPParseError(.badRequest, "bare_lf", "line ends with LF without CR"))
                    }
                    if position >= 8 {
                        return .invalid(HTTPParseError(.badRequest, "empty_lines", "too many empty lines"))
                    }
                    position += 1
                    continue
                }
                if position > 0 && bytes[position - 1] == cr {
                    return .invalid(HTTPParseError(.badRequest, "bare_cr", "CR not followed by LF"))
                }
                started = true
                start = position
                lineStart = position
            }
            if byte == lf {
                guard position > start, bytes[position - 1] == cr else {
                    return .invalid(HTTPParseError(.badRequest, "bare_lf", "line ends with LF without CR"))
                }
                let lineEnd = position - 1
                if lineEnd == lineStart {
                    // An empty line: the end of the head.
                    guard requestLineEnded else {
                        return .invalid(HTTPParseError(.badRequest, "invalid_request_line", "empty request line"))
                    }
                    let end = position + 1
                    switch Self.parseHead(UnsafeRawBufferPointer(rebasing: bytes[start..<end])) {
                    case .success(let head): return .complete(head, bytesUsed: end)
                    case .failure(let error): return .invalid(error)
                    }
                }
                lineCount += 1
                if !requestLineEnded {
                    requestLineEnded = true
                } else if lineCount - 1 > limits.maxHeaderCount {
                    return .invalid(HTTPParseError(
                        .requestHeaderFieldsTooLarge, "too_many_headers",
                        "more than \(limits.maxHeaderCount) header fields"))
                }
                lineStart = position + 1
            } else if position > start && bytes[position - 1] == cr {
                // Looking back rather than ahead keeps the verdict the same however the input is split.
                return .invalid(HTTPParseError(.badRequest, "bare_cr", "CR not followed by LF"))
            }
            position += 1
            if !requestLineEnded && position - start > limits.maxRequestLineLength {
                return .invalid(HTTPParseError(
                    .uriTooLong, "request_line_too_long",
                    "request line longer than \(limits.maxRequestLineLength) bytes"))
            }
            if position - start > limits.maxHeaderBytes {
                return .invalid(HTTPParseError(
                    .requestHeaderFieldsTooLarge, "header_too_large",
                    "request head larger than \(limits.maxHeaderBytes) bytes"))
            }
        }
        return .needMore
    }

    // MARK: - Whole-head parsing (the head is known to be complete, CRLF-terminated lines)

    private static func parseHead(_ head: UnsafeRawBufferPointer) -> Swift.Result<RequestHead, HTTPParseError> {
        // Split into lines without the CRLFs; the last line is the empty one.
        var lines: [Range<Int>] = []
        var lineStart = 0
        for index in 0..<head.count where head[index] == UInt8(ascii: "\n") {
            lines.append(lineStart..<(index - 1))
            lineStart = index + 1
        }
        lines.removeLast()
        let requestLine: RequestLine
        switch parseRequestLine(UnsafeRawBufferPointer(rebasing: head[lines[0]])) {
        case .success(let line): requestLine = line
        case .failure(let error): return .failure(error)
        }
        var headers = HTTPHeaders()
        for range in lines.dropFirst() {
            switch parseHeaderLine(UnsafeRawBufferPointer(rebasing: head[range])) {
            case .success(let field): headers.add(name: field.name, value: field.value)
            case .failure(let error): return .failure(error)
            }
        }
        return HeaderSemantics.apply(requestLine: requestLine, headers: headers)
    }

    struct RequestLine {
        var method: HTTPMethod
        var target: String
        var path: String
        var pathSegments: [String]
        var query: String?
        var minorVersion: Int
    }

    private static func parseRequestLine(_ line: UnsafeRawBufferPointer) -> Swift.Result<RequestLine, HTTPParseError> {
        let space = UInt8(ascii: " ")
        let invalid = HTTPParseError(.badRequest, "invalid_request_line", "request line is not 'METHOD target HTTP/1.x'")
        guard let firstSpace = line.firstIndex(of: space) else { return .failure(invalid) }
        let afterMethod = firstSpace + 1
        guard let secondOffset = line[afterMethod...].firstIndex(of: space) else { return .failure(invalid) }
        let methodBytes = UnsafeRawBufferPointer(rebasing: line[0..<firstSpace])
        let targetBytes = UnsafeRawBufferPointer(rebasing: line[afterMethod..<secondOffset])
        let versionBytes = UnsafeRawBufferPointer(rebasing: line[(secondOffset + 1)...])
        guard !methodBytes.isEmpty, methodBytes.allSatisfy(CharacterClass.isTokenByte) else {
            return .failure(HTTPParseError(.badRequest, "invalid_method", "method is not a token"))
        }
        guard !targetBytes.isEmpty, targetBytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return .failure(HTTPParseError(.badRequest, "invalid_target", "request target is empty or has bytes outside visible ASCII"))
        }
        // Version: exactly "HTTP/" DIGIT "." DIGIT.
        guard versionBytes.count == 8, versionBytes.starts(with: "HTTP/".utf8),
              CharacterClass.isDigit(versionBytes[5]), versionBytes[6] == UInt8(ascii: "."),
              CharacterClass.isDigit(versionBytes[7])
        else { return .failure(invalid) }
        let major = Int(versionBytes[5] - UInt8(ascii: "0")), minor = Int(versionBytes[7] - UInt8(ascii: "0"))
        guard major == 1 else {
            return .failure(HTTPParseError(.httpVersionNotSupported, "unsupported_version", "only HTTP/1.0 and HTTP/1.1 are served"))
        }
        guard let method = HTTPMethod.from(bytes: methodBytes) else {
            return .failure(HTTPParseError(.notImplemented, "unknown_method", "method \(String(decoding: methodBytes, as: UTF8.self)) is not implemented"))
        }
        let target = String(decoding: targetBytes, as: UTF8.self)
        switch RequestTarget.decode(target, method: method) {
        case .success(let decoded):
            return .success(RequestLine(
                method: method, target: target, path: decoded.path, pathSegments: decoded.segments,
                query: decoded.query, minorVersion: min(minor, 1)))
        case .failure(let error):
            return .failure(error)
        }
    }

    private static func parseHeaderLine(_ line: UnsafeRawBufferPointer) -> Swift.Result<(name: String, value: String), HTTPParseError> {
        guard let first = line.first, first != UInt8(ascii: " "), first != UInt8(ascii: "\t") else {
            return .failure(HTTPParseError(.badRequest, "obsolete_line_folding", "header continuation lines are not accepted"))
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0 else {
            return .failure(HTTPParseError(.badRequest, "invalid_header", "header line has no name and colon"))
        }
        let nameBytes = UnsafeRawBufferPointer(rebasing: line[0..<colon])
        guard nameBytes.allSatisfy(CharacterClass.isTokenByte) else {
            return .failure(HTTPParseError(.badRequest, "invalid_header_name", "header name is not a token"))
        }
        var valueStart = colon + 1, valueEnd = line.count
        while valueStart < valueEnd && CharacterClass.isWhitespace(line[valueStart]) { valueStart += 1 }
        while valueEnd > valueStart && CharacterClass.isWhitespace(line[valueEnd - 1]) { valueEnd -= 1 }
        let valueBytes = UnsafeRawBufferPointer(rebasing: line[valueStart..<valueEnd])
        guard valueBytes.allSatisfy(CharacterClass.isFieldValueByte) else {
            return .failure(HTTPParseError(.badRequest, "invalid_header_value", "header value contains control bytes"))
        }
        return .success((String(decoding: nameBytes, as: UTF8.self), String(decoding: valueBytes, as: UTF8.self)))
    }
}

/// Byte classes of RFC 9110 §5.6.
enum CharacterClass {
    /// tchar: "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
    static let tokenTable: [Bool] = (0..<256).map { value in
        let byte = UInt8(value)
        if (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) { return true }
        return "!#$%&'*+-.^_`|~".utf8.contains(byte)
    }

    @inline(__always) static func isTokenByte(_ byte: UInt8) -> Bool { tokenTable[Int(byte)] }
    @inline(__always) static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    @inline(__always) static func isWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
    /// field-vchar, SP, HTAB, obs-text: everything but controls and DEL.
    @inline(__always) static func isFieldValueByte(_ byte: UInt8) -> Bool {
        byte == 0x09 || (byte >= 0x20 && byte != 0x7F)
    }
    @inline(__always) static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case 0x30...0x39: return Int(byte - 0x30)
        case 0x41...0x46: return Int(byte - 0x41 + 10)
        case 0x61...0x66: return Int(byte - 0x61 + 10)
        default: return nil
        }
    }
}
