// A swift-log handler whose lines are formatted and written by a background thread, so a request thread never
// waits on standard error; warnings and errors are written before `log` returns, so none is lost in a crash.
import Foundation
import Logging

/// Logs as swift-log's `StreamLogHandler` prints (`timestamp level label : metadata [source] message`), through a
/// shared `LogWriter`.
///
/// An info line (the access log's) costs the calling thread a copy of the event into the writer's queue; the
/// writer formats and writes the queue in one `write` every `LogWriter.interval`. A line at `warning` or above
/// drains the queue on the calling thread first, in order, so errors reach the file at once and the lines before
/// them too.
public struct BufferedLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let writer: LogWriter

    public init(label: String, writer: LogWriter = .standardError) {
        self.label = label
        self.writer = writer
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        // The access log's handler has no metadata of its own: then the event's dictionary is taken as it is (a
        // merge into an empty one copied every entry, a third of StreamLogHandler's cost per line).
        var merged = event.metadata ?? [:]
        let provided = metadataProvider?.get() ?? [:]
        if !metadata.isEmpty || !provided.isEmpty {
            merged = metadata.merging(provided) { $1 }.merging(event.metadata ?? [:]) { $1 }
        }
        writer.enqueue(LogWriter.Entry(seconds: Date().timeIntervalSince1970, level: event.level, label: label,
                                       message: event.message, metadata: merged, source: event.source),
                       urgent: event.level >= .warning)
    }
}

/// Writes queued log entries to a file descriptor from its own thread, in order.
public final class LogWriter: @unchecked Sendable {
    struct Entry {
        var seconds: Double
        var level: Logger.Level
        var label: String
        var message: Logger.Message
        var metadata: Logger.Metadata
        var source: String
    }

    /// Standard error, the service's log.
    public static let standardError = LogWriter(fileDescriptor: 2)

    /// How long an info line may wait in the queue before it is written.
    public static let interval: Double = 0.05
    /// Entries queued beyond which the logging thread writes them itself: memory stays bounded when the writer
    /// cannot keep up (a slow terminal), and nothing is dropped.
    static let maximumQueued = 50_000

    private let fileDescriptor: Int32
    private let queueLock = NSLock()
    private var queued: [Entry] = []
    /// Held while a batch is formatted and written, so batches leave in the order they were taken.
    private let writeLock = NSLock()
    private var formatter = LineFormatter()

    init(fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
        let thread = Thread { [weak self] in
            while true {
                Thread.sleep(forTimeInterval: LogWriter.interval)
                guard let writer = self else { return }
                writer.flush()
            }
        }
        thread.name = "graft-log-writer"
        thread.start()
    }

    func enqueue(_ entry: Entry, urgent: Bool) {
        queueLock.lock()
        queued.append(entry)
        let full = queued.count >= Self.maximumQueued
        queueLock.unlock()
        if urgent || full { flush() }
    }

    /// Writes everything queued now, on the calling thread (shutdown calls it so the last lines are not lost).
    public func flush() {
        writeLock.lock()
        defer { writeLock.unlock() }
        queueLock.lock()
        let batch = queued
        queued.removeAll(keepingCapacity: true)
        queueLock.unlock()
        guard !batch.isEmpty else { return }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(batch.count * 200)
        for entry in batch { formatter.append(entry, to: &bytes) }
        // A log that cannot be written has nowhere to report it.
        try? bytes.withUnsafeBytes { try POSIX.writeAll(fileDescriptor, $0) }
    }
}

/// Formats entries as `StreamLogHandler` does; used by the writer under its write lock only.
struct LineFormatter {
    private var cachedSecond = Int.min
    private var cachedTimestamp = ""

    mutating func append(_ entry: LogWriter.Entry, to bytes: inout [UInt8]) {
        let second = Int(entry.seconds.rounded(.down))
        if second != cachedSecond {
            cachedSecond = second
            cachedTimestamp = Self.timestamp(epochSeconds: second)
        }
        var line = cachedTimestamp + " " + entry.level.rawValue + " " + entry.label + " :"
        if !entry.metadata.isEmpty {
            for key in entry.metadata.keys.sorted() { line += " \(key)=\(entry.metadata[key]!)" }
        }
        line += " [" + entry.source + "] " + entry.message.description + "\n"
        bytes.append(contentsOf: line.utf8)
    }

    /// `2026-12-01T23:34:15+0000`, StreamLogHandler's form, in UTC.
    static func timestamp(epochSeconds: Int) -> String {
        let date = ResponseEncoder.civilDate(epochSeconds: epochSeconds)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(date.year)-\(two(date.month))-\(two(date.day))T\(two(date.secondsOfDay / 3600)):"
            + "\(two(date.secondsOfDay / 60 % 60)):\(two(date.secondsOfDay % 60))+0000"
    }
}
