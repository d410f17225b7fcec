// Decodes a query string (`a=1&b=x%20y`) into name/value pairs, or says which parameter cannot be decoded.
import Foundation

/// `application/x-www-form-urlencoded` query decoding: `&`-separated pairs, `+` for space, %XX escapes of UTF-8.
///
/// The parser decodes every query before a route sees it, so a parameter that cannot be decoded is a 400 naming
/// it instead of a parameter silently missing (a `top_k=%zz` that quietly became the default would hide the
/// client's bug).
enum QueryString {
    /// The pairs in order (a name without `=` has the value ""), or a 400 naming the first undecodable parameter.
    static func decode(_ query: String) -> Result<[(name: String, value: String)], HTTPParseError> {
        var pairs: [(name: String, value: String)] = []
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = formDecode(parts[0]) else {
                // The raw name is visible ASCII (the parser checked the target), safe to show, if shortened.
                let shown = parts[0].count > 64 ? String(parts[0].prefix(64)) + "…" : String(parts[0])
                return .failure(undecodable(shown, part: "name"))
            }
            guard let value = parts.count > 1 ? formDecode(parts[1]) : "" else {
                return .failure(undecodable(name, part: "value"))
            }
            pairs.append((name, value))
        }
        return .success(pairs)
    }

    private static func undecodable(_ name: String, part: String) -> HTTPParseError {
        HTTPParseError(
            .badRequest, "invalid_query",
            "the \(part) of query parameter '\(name)' has a bad percent-escape, a control character or bytes that "
                + "are not UTF-8; escape each byte of its UTF-8 text as %XX",
            field: name)
    }

    private static func formDecode(_ text: Substring) -> String? {
        RequestTarget.percentDecode(Substring(text.replacingOccurrences(of: "+", with: " ")))
    }
}
