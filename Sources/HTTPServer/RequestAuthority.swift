// Validates a request's authority (the Host header, an absolute-form target's host): RFC 3986 host, optional port.
import Foundation

/// The syntax of `uri-host [ ":" port ]` (RFC 9110 §7.2, RFC 3986 §3.2.2–3.2.3), checked byte by byte.
///
/// A host is a reg-name (unreserved, sub-delims and %XX escapes only: no spaces, no controls, no `@` or `/`), an
/// IPv4 address (which is a reg-name too), or an IP literal in brackets (an IPv6 address or an IPvFuture). The port
/// is decimal, 0 to 65535. Anything else could be a header-injection or cache-poisoning attempt, so it is a 400.
enum RequestAuthority {
    /// Nil when `value` is a valid `host[:port]`; otherwise what is wrong with it, for the error message.
    static func problem(in value: Substring) -> String? {
        var host = value, port: Substring?
        if value.first == "[" {
            guard let close = value.firstIndex(of: "]") else { return "an IP literal must end with ']'" }
            host = value[value.index(after: value.startIndex)..<close]
            let after = value[value.index(after: close)...]
            if !after.isEmpty {
                guard after.first == ":" else { return "only ':port' may follow an IP literal" }
                port = after.dropFirst()
            }
            guard isIPv6(host) || isIPvFuture(host) else { return "'[\(host)]' is not an IPv6 address" }
        } else {
            if let colon = value.firstIndex(of: ":") {
                host = value[..<colon]
                port = value[value.index(after: colon)...]
            }
            guard isRegName(host) else {
                return "the host may hold only letters, digits, '-._~', '!$&'()*+,;=' and %XX escapes"
            }
        }
        // RFC 3986 allows an empty port ("host:"); a present one must fit in 16 bits.
        if let port, !port.isEmpty {
            guard port.utf8.count <= 5, port.utf8.allSatisfy(CharacterClass.isDigit), let number = Int(port),
                  number <= 65535
            else { return "the port must be a number from 0 to 65535" }
        }
        return nil
    }

    // MARK: - The pieces

    /// reg-name = *( unreserved / pct-encoded / sub-delims )
    static func isRegName(_ text: Substring) -> Bool {
        var bytes = text.utf8.makeIterator()
        while let byte = bytes.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = bytes.next(), CharacterClass.hexValue(high) != nil,
                      let low = bytes.next(), CharacterClass.hexValue(low) != nil
                else { return false }
            } else if !isUnreserved(byte) && !isSubDelimiter(byte) {
                return false
            }
        }
        return true
    }

    /// IPv4address = dec-octet "." dec-octet "." dec-octet "." dec-octet, no leading zeros.
    static func isIPv4(_ text: Substring) -> Bool {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets.allSatisfy { octet in
            (1...3).contains(octet.utf8.count) && octet.utf8.allSatisfy(CharacterClass.isDigit)
                && (octet.utf8.count == 1 || octet.utf8.first != UInt8(ascii: "0")) && Int(octet)! <= 255
        }
    }

    /// IPv6address: eight 16-bit groups of 1–4 hex digits, at most one `::` standing for one or more zero groups,
    /// and optionally an IPv4 address as the last two groups.
    static func isIPv6(_ text: Substring) -> Bool {
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return false }
        /// The number of 16-bit groups in `part`, nil when malformed.
        func groups(_ part: String, ipv4Allowed: Bool) -> Int? {
            if part.isEmpty { return 0 }
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            var count = 0
            for (index, piece) in pieces.enumerated() {
                if ipv4Allowed && index == pieces.count - 1 && piece.contains(".") {
                    guard isIPv4(piece) else { return nil }
                    count += 2
                } else {
                    guard (1...4).contains(piece.utf8.count), piece.utf8.allSatisfy({ CharacterClass.hexValue($0) != nil })
                    else { return nil }
                    count += 1
                }
            }
            return count
        }
        if halves.count == 1 { return groups(halves[0], ipv4Allowed: true) == 8 }
        guard let head = groups(halves[0], ipv4Allowed: false), let tail = groups(halves[1], ipv4Allowed: true) else {
            return false
        }
        return head + tail <= 7
    }

    /// IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
    static func isIPvFuture(_ text: Substring) -> Bool {
        guard text.first == "v" || text.first == "V", let dot = text.firstIndex(of: ".") else { return false }
        let version = text[text.index(after: text.startIndex)..<dot], rest = text[text.index(after: dot)...]
        return !version.isEmpty && version.utf8.allSatisfy({ CharacterClass.hexValue($0) != nil }) && !rest.isEmpty
            && rest.utf8.allSatisfy({ isUnreserved($0) || isSubDelimiter($0) || $0 == UInt8(ascii: ":") })
    }

    /// unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"
    @inline(__always) static func isUnreserved(_ byte: UInt8) -> Bool {
        (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || CharacterClass.isDigit(byte)
            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_")
            || byte == UInt8(ascii: "~")
    }

    /// sub-delims = "!" / "$" / "&" / "'" / "(" / ")" / "*" / "+" / "," / ";" / "="
    @inline(__always) static func isSubDelimiter(_ byte: UInt8) -> Bool {
        "!$&'()*+,;=".utf8.contains(byte)
    }
}
