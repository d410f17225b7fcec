// A small, strict multipart/form-data parser (RFC 7578) for prediction uploads from HTML forms and curl -F.
import Foundation

/// The parts of a `multipart/form-data` body.
struct MultipartForm {
    /// One part: its form field name, optional file name and content type, and its bytes.
    struct Part: Equatable {
        var name: String
        var fileName: String?
        var contentType: String?
        var body: Data
    }

    var parts: [Part]

    /// The boundary parameter of a `multipart/form-data` Content-Type, or nil when it has none.
    static func boundary(fromContentType contentType: String) -> String? {
        let pieces = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard pieces.first?.lowercased() == "multipart/form-data" else { return nil }
        for piece in pieces.dropFirst() where piece.lowercased().hasPrefix("boundary=") {
            var value = String(piece.dropFirst("boundary=".count))
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return (1...70).contains(value.count) ? value : nil
        }
        return nil
    }

    /// Parses `body`; throws `ServiceError.invalid(field: "body")` saying what is malformed.
    init(body: Data, boundary: String) throws {
        let bytes = [UInt8](body)
        let delimiter = Array("--\(boundary)".utf8)
        let crlf: [UInt8] = [13, 10]
        func fail(_ reason: String) -> ServiceError {
            ServiceError.invalid(field: "body", message: "The multipart body is malformed: \(reason).")
        }
        guard var position = Self.find(delimiter, in: bytes, from: 0) else { throw fail("no boundary line") }
        var parts: [Part] = []
        while true {
            position += delimiter.count
            // "--" after a delimiter closes the body.
            if bytes.count >= position + 2, bytes[position] == 45, bytes[position + 1] == 45 { break }
            guard bytes.count >= position + 2, Array(bytes[position..<position + 2]) == crlf else {
                throw fail("a boundary line does not end with CRLF")
            }
            position += 2
            guard let headerEnd = Self.find(crlf + crlf, in: bytes, from: position) else {
                throw fail("a part has no blank line after its headers")
            }
            let headerText = String(decoding: bytes[position..<headerEnd], as: UTF8.self)
            let bodyStart = headerEnd + 4
            guard let next = Self.find(crlf + delimiter, in: bytes, from: bodyStart) else {
                throw fail("the closing boundary is missing")
            }
            parts.append(try Self.part(headers: headerText, body: Data(bytes[bodyStart..<next]), fail: fail))
            position = next + 2
        }
        self.parts = parts
    }

    private static func part(headers: String, body: Data, fail: (String) -> ServiceError) throws -> Part {
        var name: String?
        var fileName: String?
        var contentType: String?
        for line in headers.components(separatedBy: "\r\n") where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { throw fail("header line '\(line)' has no colon") }
            let field = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if field == "content-type" { contentType = value.lowercased() }
            guard field == "content-disposition" else { continue }
            for parameter in value.split(separator: ";").dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard pair.count == 2 else { continue }
                var text = pair[1]
                if text.hasPrefix("\""), text.hasSuffix("\""), text.count >= 2 { text = String(text.dropFirst().dropLast()) }
                switch pair[0].lowercased() {
                case "name": name = text
                case "filename": fileName = text
                default: break
                }
            }
        }
        guard let name else { throw fail("a part has no Content-Disposition name") }
        return Part(name: name, fileName: fileName, contentType: contentType, body: body)
    }

    /// The first index of `needle` in `haystack` at or after `start`.
    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        var index = start
        let first = needle[0]
        while index <= haystack.count - needle.count {
            if haystack[index] == first, haystack[index..<index + needle.count].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}
