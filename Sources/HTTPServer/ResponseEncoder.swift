// Serialises response heads (status line, headers, Date) into bytes, so head and body leave in one send.
import Foundation

/// Builds the bytes of response heads; one per connection (it caches the Date header for the current second).
struct ResponseEncoder {
    private var cachedSecond = -1
    private var cachedDate: [UInt8] = []

    /// Appends the status line and headers, ending with the empty line.
    /// `contentLength` nil means chunked when `chunked` is true, else no length (the body ends at close).
    mutating func appendHead(
        to buffer: inout [UInt8], status: HTTPStatus, headers: HTTPHeaders, contentLength: Int?, chunked: Bool,
        keepAlive: Bool, requestId: String, minorVersion: Int
    ) {
        buffer.append(contentsOf: minorVersion == 0 ? "HTTP/1.0 ".utf8 : "HTTP/1.1 ".utf8)
        appendDecimal(status.code, to: &buffer)
        buffer.append(UInt8(ascii: " "))
        buffer.append(contentsOf: status.reason.utf8)
        buffer.append(contentsOf: "\r\nDate: ".utf8)
        buffer.append(contentsOf: date())
        for field in headers {
            // Framing and connection headers are the server's to set.
            if HTTPHeaders.equalNames(field.name, "content-length") || HTTPHeaders.equalNames(field.name, "transfer-encoding")
                || HTTPHeaders.equalNames(field.name, "connection") || HTTPHeaders.equalNames(field.name, "x-request-id") {
                continue
            }
            buffer.append(contentsOf: "\r\n".utf8)
            appendSafe(field.name, to: &buffer)
            buffer.append(contentsOf: ": ".utf8)
            appendSafe(field.value, to: &buffer)
        }
        if let contentLength {
            buffer.append(contentsOf: "\r\nContent-Length: ".utf8)
            appendDecimal(contentLength, to: &buffer)
        } else if chunked {
            buffer.append(contentsOf: "\r\nTransfer-Encoding: chunked".utf8)
        }
        if !keepAlive {
            buffer.append(contentsOf: "\r\nConnection: close".utf8)
        } else if minorVersion == 0 {
            buffer.append(contentsOf: "\r\nConnection: keep-alive".utf8)
        }
        buffer.append(contentsOf: "\r\nX-Request-Id: ".utf8)
        appendSafe(requestId, to: &buffer)
        buffer.append(contentsOf: "\r\n\r\n".utf8)
    }

    /// Header text with CR and LF replaced, so a handler cannot split the response.
    private func appendSafe(_ text: String, to buffer: inout [UInt8]) {
        for byte in text.utf8 {
            buffer.append(byte == 0x0D || byte == 0x0A ? UInt8(ascii: " ") : byte)
        }
    }

    func appendDecimal(_ value: Int, to buffer: inout [UInt8]) {
        if value >= 10 { appendDecimal(value / 10, to: &buffer) }
        buffer.append(UInt8(ascii: "0") + UInt8(value % 10))
    }

    /// The IMF-fixdate for now (`Sun, 06 Nov 1994 08:49:37 GMT`), recomputed once a second.
    private mutating func date() -> [UInt8] {
        let second = Int(Date().timeIntervalSince1970)
        if second != cachedSecond {
            cachedSecond = second
            cachedDate = Array(Self.imfFixdate(epochSeconds: second).utf8)
        }
        return cachedDate
    }

    /// Formats seconds since 1970 as an HTTP date (RFC 9110 §5.6.7).
    static func imfFixdate(epochSeconds: Int) -> String {
        let date = civilDate(epochSeconds: epochSeconds)
        let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]  // 1970-01-01 was a Thursday
        let weekday = weekdays[((date.days % 7) + 7) % 7]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(weekday), \(two(date.day)) \(months[date.month - 1]) \(date.year) \(two(date.secondsOfDay / 3600)):"
            + "\(two(date.secondsOfDay / 60 % 60)):\(two(date.secondsOfDay % 60)) GMT"
    }

    /// The UTC calendar date of seconds since 1970, via Howard Hinnant's days-to-civil algorithm (also the log's
    /// timestamps).
    static func civilDate(epochSeconds: Int) -> (days: Int, year: Int, month: Int, day: Int, secondsOfDay: Int) {
        let days = epochSeconds >= 0 ? epochSeconds / 86400 : (epochSeconds - 86399) / 86400
        let secondsOfDay = epochSeconds - days * 86400
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (days, year, month, day, secondsOfDay)
    }
}
