// Reading request bodies: Content-Length or chunked, 100-continue, per-route caps, spooling large bodies to disk,
// and the pace a body must keep (no long pauses, an average-rate floor).
import Foundation

extension HTTPConnection {
    /// Why a body could not be read.
    enum BodyFailure: Error {
        /// Answer with this error, then close.
        case respond(HTTPResponseError)
        /// The client went away; close silently.
        case disconnected
    }

    /// Reads the whole body of `head` under `maxBodySize`, in memory up to `inMemorySize` when the server's body
    /// budget has room for it. The caller returns the body's share of the budget (`BodySink.reserved`) once
    /// the request is done with it.
    func readBody(_ head: RequestHead, maxBodySize: Int, inMemorySize: Int,
                  reserved: inout Int) -> Result<(RequestBody, HTTPHeaders), BodyFailure> {
        let tooLarge = HTTPError(
            .contentTooLarge, code: "body_too_large", message: "request body exceeds this route's limit of \(maxBodySize) bytes")
        switch head.framing {
        case .none:
            return .success((.empty, [:]))
        case .contentLength(let length):
            guard length <= maxBodySize else { return .failure(.respond(tooLarge)) }
            var limit = configuration.inMemoryBodyLimit
            if length > limit, length <= inMemorySize, server.bodyBudget.reserve(length) {
                reserved = length
                limit = length
            }
            let sink = BodySink(expectedSize: length, inMemoryLimit: limit, configuration: configuration)
            return collect(into: sink) {
                if head.expectsContinue && bufferedCount == 0 { try sendContinue() }
                var pace = BodyPace(configuration, alreadyReceived: min(bufferedCount, length))
                var remaining = length
                while remaining > 0 {
                    if bufferedCount == 0 { try receiveBody(&pace) }
                    remaining -= try consumeBuffered(maximum: remaining) { try sink.append($0) }
                }
                return (try sink.finish(), [:])
            }
        case .chunked:
            let sink = BodySink(expectedSize: nil, inMemoryLimit: configuration.inMemoryBodyLimit,
                                configuration: configuration)
            var decoder = ChunkedDecoder(maxLineLength: configuration.maxChunkLineLength,
                                         maxTrailerBytes: configuration.maxHeaderBytes)
            return collect(into: sink) {
                if head.expectsContinue && bufferedCount == 0 { try sendContinue() }
                var pace = BodyPace(configuration, alreadyReceived: bufferedCount)
                while true {
                    if bufferedCount > 0 {
                        let result = try withBuffered { bytes -> (consumed: Int, result: ChunkedDecoder.Result) in
                            let result = try decoder.decode(bytes) { chunk in
                                guard sink.count + chunk.count <= maxBodySize else { throw BodyFailure.respond(tooLarge) }
                                try sink.append(chunk)
                            }
                            switch result {
                            case .needMore(let consumed), .done(let consumed): return (consumed, result)
                            case .invalid: return (0, result)
                            }
                        }
                        switch result {
                        case .done: return (try sink.finish(), decoder.trailers)
                        case .invalid(let error): throw BodyFailure.respond(error)
                        case .needMore: break
                        }
                    }
                    try receiveBody(&pace)
                }
            }
        }
    }

    /// Receives more body bytes; a pause longer than the body read timeout, or an average below the rate floor, is
    /// a 408; a close is `disconnected`.
    private func receiveBody(_ pace: inout BodyPace) throws {
        makeRoom(limit: 0)
        let before = bufferedCount
        let pauseDeadline = POSIX.monotonicSeconds() + configuration.bodyReadTimeout
        let floorDeadline = pace.floorDeadline
        switch fill(until: min(pauseDeadline, floorDeadline)) {
        case .data:
            pace.received += bufferedCount - before
        case .closed:
            throw BodyFailure.disconnected
        case .timedOut:
            throw BodyFailure.respond(floorDeadline <= pauseDeadline ? pace.tooSlow() : Self.bodyTimeout)
        }
    }

    /// Runs `read`, turning its failures into `BodyFailure` and removing whatever the sink collected on failure.
    private func collect(
        into sink: BodySink, _ read: () throws -> (RequestBody, HTTPHeaders)
    ) -> Result<(RequestBody, HTTPHeaders), BodyFailure> {
        do {
            return .success(try read())
        } catch let failure as BodyFailure {
            sink.abort()
            return .failure(failure)
        } catch {
            sink.abort()
            return .failure(.respond(Self.storageError(error)))
        }
    }

    private static let bodyTimeout = HTTPError(
        .requestTimeout, code: "body_timeout", message: "request body stalled; send it without long pauses")

    private static func storageError(_ error: Error) -> HTTPError {
        HTTPError(.internalServerError, code: "body_storage_failed", message: "could not store the request body: \(error)")
    }
}

/// How fast a body arrives, against the floor `minimumBodyBytesPerSecond` that applies after the grace period.
struct BodyPace {
    private let started = POSIX.monotonicSeconds()
    private let minimumRate: Double
    private let gracePeriod: Double
    /// Body bytes received so far.
    var received: Int

    init(_ configuration: HTTPServerConfiguration, alreadyReceived: Int) {
        minimumRate = Double(configuration.minimumBodyBytesPerSecond)
        gracePeriod = configuration.bodyRateGracePeriod
        received = alreadyReceived
    }

    /// When the average falls below the floor if nothing more arrives: after the grace period, the body must have
    /// delivered `minimumRate` bytes for every second since it began.
    var floorDeadline: Double {
        guard minimumRate > 0 else { return .infinity }
        return started + max(gracePeriod, Double(received) / minimumRate)
    }

    /// The 408 for a body below the floor, with the rate it managed.
    func tooSlow() -> HTTPError {
        let elapsed = max(POSIX.monotonicSeconds() - started, 0.001)
        let rate = String(format: "%.1f", Double(received) / elapsed / 1024)
        let floor = String(format: "%g", minimumRate / 1024)
        return HTTPError(
            .requestTimeout, code: "body_too_slow",
            message: "request body arrived at \(rate) KiB/s on average (\(received) bytes in "
                + "\(String(format: "%.1f", elapsed)) s), below this server's floor of \(floor) KiB/s after the first "
                + "\(String(format: "%g", gracePeriod)) s; send it faster, or ask the operator to lower the floor")
    }
}

/// Collects body bytes in memory, moving to a temporary file once they outgrow the in-memory limit.
final class BodySink {
    private let configuration: HTTPServerConfiguration
    private let inMemoryLimit: Int
    private var memory = Data()
    private var file: (fd: Int32, path: String)?
    private(set) var count = 0

    init(expectedSize: Int?, inMemoryLimit: Int, configuration: HTTPServerConfiguration) {
        self.configuration = configuration
        self.inMemoryLimit = inMemoryLimit
        if let expectedSize, expectedSize <= inMemoryLimit { memory.reserveCapacity(expectedSize) }
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        if file == nil && count + bytes.count > inMemoryLimit {
            let opened = try POSIX.makeTemporaryFile(in: configuration.temporaryDirectory)
            file = opened
            try memory.withUnsafeBytes { try POSIX.writeAll(opened.fd, $0) }
            memory = Data()
        }
        if let file {
            try POSIX.writeAll(file.fd, bytes)
        } else {
            if let base = bytes.baseAddress { memory.append(base.assumingMemoryBound(to: UInt8.self), count: bytes.count) }
        }
        count += bytes.count
    }

    func finish() throws -> RequestBody {
        if let file {
            POSIX.close(file.fd)
            self.file = nil
            return RequestBody(storage: .file(URL(fileURLWithPath: file.path), size: count))
        }
        return count == 0 ? .empty : RequestBody(storage: .memory(memory))
    }

    /// Drops what was collected, removing any temporary file.
    func abort() {
        if let file {
            POSIX.close(file.fd)
            try? FileManager.default.removeItem(atPath: file.path)
            self.file = nil
        }
        memory = Data()
    }
}

/// A count of bytes that callers take from and give back to a fixed capacity, from any thread.
final class MemoryBudget: @unchecked Sendable {
    private let lock = NSLock()
    private let capacity: Int
    private var used = 0

    init(capacity: Int) { self.capacity = capacity }

    /// Takes `bytes` if they fit what is left; false (taking nothing) otherwise.
    func reserve(_ bytes: Int) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard bytes <= capacity - used else { return false }
        used += bytes
        return true
    }

    func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        lock.lock()
        used -= bytes
        lock.unlock()
    }

    /// Bytes taken now.
    var inUse: Int {
        lock.lock()
        defer { lock.unlock() }
        return used
    }
}
