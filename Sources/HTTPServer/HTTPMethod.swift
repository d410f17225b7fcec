// The request methods the server understands; any other method token is answered with 501.
import Foundation

/// An HTTP request method (RFC 9110 §9 plus PATCH).
public enum HTTPMethod: String, Sendable, CaseIterable, Hashable {
    case get = "GET"
    case head = "HEAD"
    case post = "POST"
    case put = "PUT"
    case delete = "DELETE"
    case patch = "PATCH"
    case options = "OPTIONS"
    case trace = "TRACE"
    case connect = "CONNECT"

    /// The method named by exactly these bytes (case-sensitive, as RFC 9110 requires), or nil.
    static func from(bytes: UnsafeRawBufferPointer) -> HTTPMethod? {
        // Fast path by length and first byte; avoids building a String for the common methods.
        switch (bytes.count, bytes.first ?? 0) {
        case (3, UInt8(ascii: "G")): return equal(bytes, "GET") ? .get : nil
        case (3, UInt8(ascii: "P")): return equal(bytes, "PUT") ? .put : nil
        case (4, UInt8(ascii: "P")): return equal(bytes, "POST") ? .post : nil
        case (4, UInt8(ascii: "H")): return equal(bytes, "HEAD") ? .head : nil
        case (5, UInt8(ascii: "P")): return equal(bytes, "PATCH") ? .patch : nil
        case (5, UInt8(ascii: "T")): return equal(bytes, "TRACE") ? .trace : nil
        case (6, UInt8(ascii: "D")): return equal(bytes, "DELETE") ? .delete : nil
        case (7, UInt8(ascii: "O")): return equal(bytes, "OPTIONS") ? .options : nil
        case (7, UInt8(ascii: "C")): return equal(bytes, "CONNECT") ? .connect : nil
        default: return nil
        }
    }

    private static func equal(_ bytes: UnsafeRawBufferPointer, _ name: StaticString) -> Bool {
        guard bytes.count == name.utf8CodeUnitCount else { return false }
        let pointer = name.utf8Start
        for index in 0..<bytes.count where bytes[index] != pointer[index] { return false }
        return true
    }
}
