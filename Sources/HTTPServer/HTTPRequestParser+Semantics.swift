// Request-target decoding and the header rules of the parser: Host, Authorization, framing (anti-smuggling),
// Connection, Expect.
import Foundation

/// Decodes a request target into a safe path, its segments and the raw query.
enum RequestTarget {
    struct Decoded {
        var path: String
        var segments: [String]
        var query: String?
    }

    /// The path decoded and checked, and the query checked (a 400 naming the parameter it cannot decode) unless
    /// `checkingQuery` is false.
    static func decode(_ target: String, method: HTTPMethod, checkingQuery: Bool = true) -> Result<Decoded, HTTPParseError> {
        var rest = Substring(target)
        if rest == "*" {
            guard method == .options else {
                return .failure(HTTPParseError(.badRequest, "invalid_target", "'*' is only a target for OPTIONS"))
            }
            return .success(Decoded(path: "*", segments: [], query: nil))
        }
        // absolute-form (RFC 9112 §3.2.2): keep only the path and query.
        for scheme in ["http://", "https://"] where rest.lowercased().hasPrefix(scheme) {
            rest = rest.dropFirst(scheme.count)
            let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
            // An http URI must have a host (RFC 9110 §4.2.1); userinfo is an error there (§4.2.4).
            let authority = rest[..<end]
            if authority.isEmpty || authority.contains("@") {
                return .failure(HTTPParseError(
                    .badRequest, "invalid_target", "an absolute target needs a host and no user info"))
            }
            if let problem = RequestAuthority.problem(in: authority) {
                return .failure(HTTPParseError(
                    .badRequest, "invalid_target", "the target's authority is invalid: \(problem)"))
            }
            rest = rest[end...]
            if rest.isEmpty { rest = "/" }
            if rest.first == "?" { rest = "/" + rest }
        }
        guard rest.first == "/" else {
            return .failure(HTTPParseError(.badRequest, "invalid_target", "request target must start with '/'"))
        }
        guard !rest.contains("#") else {
            return .failure(HTTPParseError(.badRequest, "invalid_target", "request target must not contain a fragment"))
        }
        var query: String?
        if let mark = rest.firstIndex(of: "?") {
            let text = String(rest[rest.index(after: mark)...])
            if checkingQuery, case .failure(let error) = QueryString.decode(text) { return .failure(error) }
            query = text
            rest = rest[..<mark]
        }
        var segments: [String] = []
        for rawSegment in rest.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            guard let segment = percentDecode(rawSegment) else {
                return .failure(HTTPParseError(.badRequest, "invalid_path", "path has a bad percent-escape or is not UTF-8"))
            }
            guard segment != ".", segment != ".." else {
                return .failure(HTTPParseError(.badRequest, "invalid_path", "path must not contain '.' or '..' segments"))
            }
            segments.append(segment)
        }
        if segments == [""] { segments = [] }  // "/" itself
        return .success(Decoded(path: "/" + segments.joined(separator: "/"), segments: segments, query: query))
    }

    /// Resolves %XX escapes; nil on a malformed escape, invalid UTF-8, or a control character.
    static func percentDecode(_ text: Substring) -> String? {
        if !text.utf8.contains(UInt8(ascii: "%")) { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(CharacterClass.hexValue),
                      let low = iterator.next().flatMap(CharacterClass.hexValue)
                else { return nil }
                bytes.append(UInt8(high << 4 | low))
            } else {
                bytes.append(byte)
            }
        }
        guard !bytes.contains(where: { $0 < 0x20 || $0 == 0x7F }) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }
}

/// The header rules that decide framing and connection reuse (RFC 9112 §6, §9).
enum HeaderSemantics {
    static func apply(requestLine: HTTPRequestParser.RequestLine, headers: HTTPHeaders) -> Result<RequestHead, HTTPParseError> {
        var hostCount = 0, authorizationCount = 0
        var contentLength: Int?
        var chunked = false
        var sawTransferEncoding = false
        var connectionClose = false, connectionKeepAlive = false
        var expectsContinue = false
        for field in headers {
            switch field.name.utf8.count {
            case 4 where HTTPHeaders.equalNames(field.name, "host"):
                hostCount += 1
                if let problem = RequestAuthority.problem(in: Substring(field.value)) {
                    return .failure(HTTPParseError(
                        .badRequest, "invalid_host", "Host '\(field.value.prefix(100))' is invalid: \(problem)"))
                }
            case 13 where HTTPHeaders.equalNames(field.name, "authorization"):
                // Two credentials would let different layers (a proxy, a route) each check a different one.
                authorizationCount += 1
                guard authorizationCount == 1 else {
                    return .failure(HTTPParseError(
                        .badRequest, "invalid_authorization", "send one Authorization header, not several"))
                }
            case 6 where HTTPHeaders.equalNames(field.name, "expect"):
                guard field.value.lowercased() == "100-continue" else {
                    return .failure(HTTPParseError(.expectationFailed, "unsupported_expectation", "only 'Expect: 100-continue' is supported"))
                }
                expectsContinue = true
            case 10 where HTTPHeaders.equalNames(field.name, "connection"):
                for option in field.value.split(separator: ",") {
                    let token = option.trimmingCharacters(in: .whitespaces).lowercased()
                    if token == "close" { connectionClose = true }
                    if token == "keep-alive" { connectionKeepAlive = true }
                }
            case 14 where HTTPHeaders.equalNames(field.name, "content-length"):
                // A list of identical values is tolerated (RFC 9110 §8.6); anything else is an error.
                for part in field.value.split(separator: ",", omittingEmptySubsequences: false) {
                    let digits = part.trimmingCharacters(in: .whitespaces)
                    guard !digits.isEmpty, digits.utf8.count <= 18, digits.utf8.allSatisfy(CharacterClass.isDigit),
                          let value = Int(digits)
                    else {
                        return .failure(HTTPParseError(.badRequest, "invalid_content_length", "Content-Length is not a non-negative integer"))
                    }
                    if let previous = contentLength, previous != value {
                        return .failure(HTTPParseError(.badRequest, "conflicting_content_length", "Content-Length values disagree"))
                    }
                    contentLength = value
                }
            case 17 where HTTPHeaders.equalNames(field.name, "transfer-encoding"):
                sawTransferEncoding = true
                for coding in field.value.split(separator: ",", omittingEmptySubsequences: false) {
                    let name = coding.trimmingCharacters(in: .whitespaces).lowercased()
                    guard name == "chunked" else {
                        return .failure(HTTPParseError(.notImplemented, "unsupported_transfer_coding", "only chunked transfer coding is supported"))
                    }
                    guard !chunked else {
                        return .failure(HTTPParseError(.badRequest, "invalid_transfer_encoding", "chunked applied twice"))
                    }
                    chunked = true
                }
            default:
                continue
            }
        }
        let minor = requestLine.minorVersion
        if minor == 1 && hostCount != 1 {
            return .failure(HTTPParseError(.badRequest, "invalid_host", hostCount == 0 ? "HTTP/1.1 request without Host" : "more than one Host header"))
        }
        if hostCount > 1 {
            return .failure(HTTPParseError(.badRequest, "invalid_host", "more than one Host header"))
        }
        if sawTransferEncoding && contentLength != nil {
            return .failure(HTTPParseError(.badRequest, "smuggling", "both Content-Length and Transfer-Encoding were sent"))
        }
        if sawTransferEncoding && minor == 0 {
            return .failure(HTTPParseError(.badRequest, "invalid_transfer_encoding", "Transfer-Encoding in an HTTP/1.0 request"))
        }
        let framing: BodyFraming
        if chunked {
            framing = .chunked
        } else if let length = contentLength, length > 0 {
            framing = .contentLength(length)
        } else {
            framing = .none
        }
        let keepAlive = minor == 1 ? !connectionClose : (connectionKeepAlive && !connectionClose)
        return .success(RequestHead(
            method: requestLine.method, target: requestLine.target, path: requestLine.path,
            pathSegments: requestLine.pathSegments, query: requestLine.query, minorVersion: minor, headers: headers,
            framing: framing, keepAlive: keepAlive, expectsContinue: expectsContinue && minor == 1))
    }
}
