// Reading request bodies: Content-Length or chunked, 100-continue, per-route caps, spooling large bodies to disk.
import Foundation

extension HTTPConnection {
    /// Why a body could not be read.
    enum BodyFailure: Error {
        /// Answer with this error, then close.
        case respond(HTTPResponseError)
        /// The client went away; close silently.
        case disconnected
    }

    /// Reads the whole body of `head` under `maxBodySize`.
    func readBody(_ head: RequestHead, maxBodySize: Int) -> Result<(RequestBody, HTTPHeaders), BodyFailure> {
        let tooLarge = HTTPError(
            .contentTooLarge, code: "body_too_large", message: "request body exceeds this route's limit of \(maxBodySize) bytes")
        switch head.framing {
        case .none:
            return .success((.empty, [:]))
        case .contentLength(let length):
            guard length <= maxBodySize else { return .failure(.respond(tooLarge)) }
            let sink = BodySink(expectedSize: length, configuration: configuration)
            return collect(into: sink) {
                if head.expectsContinue && bufferedCount == 0 { try sendContinue() }
                var remaining = length
                while remaining > 0 {
                    if bufferedCount == 0 { try receiveBody() }
                    remaining -= try consumeBuffered(maximum: remaining) { try sink.append($0) }
                }
                return (try sink.finish(), [:])
            }
        case .chunked:
            let sink = BodySink(expectedSize: nil, configuration: configuration)
            var decoder = ChunkedDecoder(maxLineLength: configuration.maxChunkLineLength,
                                         maxTrailerBytes: configuration.maxHeaderBytes)
            return collect(into: sink) {
                if head.expectsContinue && bufferedCount == 0 { try sendContinue() }
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
                    try receiveBody()
                }
            }
        }
    }

    /// Receives more body bytes; a pause longer than the body read timeout is a 408, a close is `disconnected`.
    private func receiveBody() throws {
        makeRoom(limit: 0)
        switch fill(until: POSIX.monotonicSeconds() + configuration.bodyReadTimeout) {
        case .data: return
        case .closed: throw BodyFailure.disconnected
        case .timedOut: throw BodyFailure.respond(Self.bodyTimeout)
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

/// Collects body bytes in memory, moving to a temporary file once they outgrow the in-memory limit.
final class BodySink {
    private let configuration: HTTPServerConfiguration
    private var memory: [UInt8] = []
    private var file: (fd: Int32, path: String)?
    private(set) var count = 0

    init(expectedSize: Int?, configuration: HTTPServerConfiguration) {
        self.configuration = configuration
        if let expectedSize, expectedSize <= configuration.inMemoryBodyLimit { memory.reserveCapacity(expectedSize) }
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        if file == nil && count + bytes.count > configuration.inMemoryBodyLimit {
            let opened = try POSIX.makeTemporaryFile(in: configuration.temporaryDirectory)
            file = opened
            try memory.withUnsafeBytes { try POSIX.writeAll(opened.fd, $0) }
            memory = []
        }
        if let file {
            try POSIX.writeAll(file.fd, bytes)
        } else {
            memory.append(contentsOf: bytes)
        }
        count += bytes.count
    }

    func finish() throws -> RequestBody {
        if let file {
            POSIX.close(file.fd)
            self.file = nil
            return RequestBody(storage: .file(URL(fileURLWithPath: file.path), size: count))
        }
        return count == 0 ? .empty : RequestBody(storage: .memory(Data(memory)))
    }

    /// Drops what was collected, removing any temporary file.
    func abort() {
        if let file {
            POSIX.close(file.fd)
            try? FileManager.default.removeItem(atPath: file.path)
            self.file = nil
        }
        memory = []
    }
}
