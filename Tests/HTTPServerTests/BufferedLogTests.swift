// The buffered log: errors are in the file when `log` returns (with every line before them, in order), no line is
// lost or reordered across threads, and lines read as StreamLogHandler's.
import Foundation
import Logging
import Testing
@testable import HTTPServer

@Suite struct BufferedLogTests {
    /// A writer into a fresh file, and a way to read the file back.
    final class LogFile {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("graft-log-\(UUID().uuidString)")
        let handle: FileHandle
        let writer: LogWriter

        init() throws {
            FileManager.default.createFile(atPath: url.path, contents: nil)
            handle = try FileHandle(forWritingTo: url)
            writer = LogWriter(fileDescriptor: handle.fileDescriptor)
        }

        deinit {
            try? handle.close()
            try? FileManager.default.removeItem(at: url)
        }

        func logger(_ label: String = "test.log") -> Logger {
            Logger(label: label) { [writer] label in BufferedLogHandler(label: label, writer: writer) }
        }

        var lines: [Substring] {
            (try? String(contentsOf: url, encoding: .utf8))?.split(separator: "\n") ?? []
        }
    }

    @Test func anErrorIsWrittenBeforeLogReturnsWithTheLinesBeforeIt() throws {
        let file = try LogFile()
        let logger = file.logger()
        for index in 0..<3 { logger.info("request \(index)") }
        logger.error("handler failed", metadata: ["request_id": "r-9"])
        // No flush and no wait: the error drained the queue on this thread.
        let lines = file.lines
        #expect(lines.count == 4, "\(lines)")
        #expect(lines.prefix(3).map { $0.hasSuffix("request 0") || $0.hasSuffix("request 1") || $0.hasSuffix("request 2") }
                    == [true, true, true])
        #expect(lines.first?.hasSuffix("request 0") == true && lines.dropFirst(2).first?.hasSuffix("request 2") == true)
        #expect(lines.last?.contains(" error test.log : request_id=r-9 [") == true, "\(lines.last ?? "")")
        #expect(lines.last?.hasSuffix("] handler failed") == true)
    }

    @Test func linesFromManyThreadsAreAllWrittenInEachThreadsOrder() throws {
        let file = try LogFile()
        let logger = file.logger()
        let threads = 8, perThread = 2_000
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            for index in 0..<perThread { logger.info("line", metadata: ["thread": "\(thread)", "index": "\(index)"]) }
        }
        file.writer.flush()
        let lines = file.lines
        #expect(lines.count == threads * perThread)
        var next = Array(repeating: 0, count: threads)
        for line in lines {
            let fields = Dictionary(line.split(separator: " ").compactMap { field -> (String, Int)? in
                let parts = field.split(separator: "=")
                guard parts.count == 2, let value = Int(parts[1]) else { return nil }
                return (String(parts[0]), value)
            }, uniquingKeysWith: { first, _ in first })
            guard let thread = fields["thread"], let index = fields["index"] else {
                Issue.record("unparsed line \(line)")
                return
            }
            #expect(index == next[thread], "thread \(thread) out of order")
            next[thread] = index + 1
        }
        #expect(next == Array(repeating: perThread, count: threads))
    }

    /// Beyond the queue's bound, info lines are dropped and counted (a warning says how many); errors never are.
    @Test func aFullQueueDropsInfoLinesButNotErrors() throws {
        let file = try LogFile()
        let logger = file.logger()
        // The writer's thread may drain part of the queue meanwhile, so count what reached the file.
        let extra = 500
        for index in 0..<(LogWriter.maximumQueued + extra) { logger.info("line \(index)") }
        logger.error("still written")
        file.writer.flush()
        let lines = file.lines
        let infos = lines.filter { $0.contains(" info ") }.count
        let droppedCount = lines.filter { $0.contains("log lines below warning dropped") }.compactMap { line in
            line.split(separator: "] ").last?.split(separator: " ").first.flatMap { Int($0) }
        }.reduce(0, +)
        #expect(infos + droppedCount == LogWriter.maximumQueued + extra, "\(infos) written, \(droppedCount) dropped")
        #expect(lines.contains { $0.hasSuffix("] still written") })
    }

    @Test func timestampsAreUTCInStreamLogHandlersForm() {
        #expect(LineFormatter.timestamp(epochSeconds: 0) == "1970-01-01T00:00:00+0000")
        #expect(LineFormatter.timestamp(epochSeconds: 1_796_168_055) == "2026-12-01T23:34:15+0000")
        #expect(LineFormatter.timestamp(epochSeconds: 951_782_400) == "2000-02-29T00:00:00+0000")
    }

    @Test(arguments: [(0.0, "0.000"), (0.000_042, "0.042"), (0.0015, "1.500"), (2.25, "2250.000"), (-1, "0.000")])
    func accessLogDurationsHaveThreeDecimals(seconds: Double, text: String) {
        #expect(HTTPConnection.milliseconds(seconds) == text)
    }
}
