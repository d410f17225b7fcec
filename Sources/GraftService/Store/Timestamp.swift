// ISO-8601 UTC timestamps as stored in the database and shown in JSON bodies.
import Foundation

/// Converts between `Date` and the ISO-8601 UTC text the database stores ("2026-11-23T20:30:00.123Z").
///
/// Fixed width with milliseconds, so text order is time order and SQL can compare timestamps directly.
public enum Timestamp {
    /// The text form of `date`.
    public static func string(from date: Date) -> String {
        formatter().string(from: date)
    }

    /// The date a stored timestamp names, or nil when the text is not one.
    public static func date(from text: String) -> Date? {
        formatter().date(from: text)
    }

    /// One formatter per thread: creating one costs far more than using it, and sharing one across threads
    /// is not documented as safe on every platform.
    private static func formatter() -> ISO8601DateFormatter {
        let key = "graft.timestamp.formatter"
        if let cached = Thread.current.threadDictionary[key] as? ISO8601DateFormatter { return cached }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        Thread.current.threadDictionary[key] = formatter
        return formatter
    }
}
