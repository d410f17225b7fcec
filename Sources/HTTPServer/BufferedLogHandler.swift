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
/// them too. When the writer cannot keep up (64 connections saturating two cores leave its thread little time),
/// lines below `warning` beyond `LogWriter.maximumQueued` are dropped and counted, and the count is written as a
/// warning: the log is sampled then rather than stall a request behind a backlog.
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
    /// Entries queued beyond which lines below `warning` are dropped (and counted) until the writer catches up.
    static let maximumQueued = 20_000

    private let fileDescriptor: Int32
    private let queueLock = NSLock()
    private var queued: [Entry] = []
    /// Lines dropped since the last batch, reported in the next one.
    private var dropped = 0
    /// Held while a batch is formatted and written, so batches leave in the order they were taken.
    private let writeLock = NSLock()
    private var formatter = LineFormatter()

    init(fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
        let thread = Thread { [weak self] in
            var written = 0
            while true {
                // A large batch means a backlog: go on at once.
                if written < 1000 { Thread.sleep(forTimeInterval: LogWriter.interval) }
                guard let writer = self else { return }
                written = writer.flush()
            }
        }
        thread.name = "graft-log-writer"
        thread.start()
    }

    func enqueue(_ entry: Entry, urgent: Bool) {
        queueLock.lock()
        if urgent || queued.count < Self.maximumQueued {
            queued.append(entry)
        } else {
            dropped += 1
        }
        queueLock.unlock()
        if urgent { flush() }
    }

    /// Writes everything queued now, on the calling thread (shutdown calls it so the last lines are not lost);
    /// returns how many lines it wrote.
    @discardableResult
    public func flush() -> Int {
        writeLock.lock()
        defer { writeLock.unlock() }
        queueLock.lock()
        var batch = queued
        let droppedNow = dropped
        queued.removeAll(keepingCapacity: true)
        dropped = 0
        queueLock.unlock()
        if droppedNow > 0, let last = batch.last {
            batch.append(Entry(seconds: last.seconds, level: .warning, label: "graft.log", message:
                "\(droppedNow) log lines below warning dropped: the log could not keep up", metadata: [:],
                source: "HTTPServer"))
        }
        guard !batch.isEmpty else { return 0 }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(batch.count * 200)
        for entry in batch { formatter.append(entry, to: &bytes) }
        // A log that cannot be written has nowhere to report it.
        try? bytes.withUnsafeBytes { try POSIX.writeAll(fileDescriptor, $0) }
        return batch.count
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
