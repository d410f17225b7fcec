// One client connection on its own thread: reads requests (pipelined or kept alive), runs handlers, writes responses.
import Foundation
import Logging

/// Serves one accepted socket until the client leaves, a timeout or error closes it, or the server stops.
/// Owns the socket and the input buffer; the parser and chunked decoder never do I/O.
final class HTTPConnection {
    let fd: Int32
    let id: Int
    let remoteAddress: String
    /// The client the per-client connection cap counts this connection against (an IPv4 address, an IPv6 /64).
    let client: String
    /// Taken from the reserve while the general pool was full: one request, and only to a reserved path.
    let isReserved: Bool
    let server: HTTPServer  // strong: a thread outliving a forced shutdown must not dangle
    let configuration: HTTPServerConfiguration
    let logger: Logger

    // Input buffer: bytes [readIndex, writeIndex) are received and not yet consumed.
    private var buffer: [UInt8]
    private var readIndex = 0
    private var writeIndex = 0
    private var parser: HTTPRequestParser
    var encoder = ResponseEncoder()
    private var requestCount = 0

    // Shared with the server's shutdown (under `stateLock`).
    private let stateLock = NSLock()
    private var idle = false
    private var stopRequested = false

    init(fd: Int32, id: Int, remoteAddress: String, client: String, isReserved: Bool, server: HTTPServer) {
        self.fd = fd
        self.id = id
        self.remoteAddress = remoteAddress
        self.client = client
        self.isReserved = isReserved
        self.server = server
        self.configuration = server.configuration
        self.logger = server.logger
        self.buffer = [UInt8](repeating: 0, count: 16 * 1024)
        self.parser = HTTPRequestParser(limits: .init(server.configuration))
    }

    // MARK: - Shutdown hooks (called by the server's thread)

    /// Asks the connection to finish: an idle one stops waiting at once, a busy one after its current response.
    func requestStop() {
        stateLock.lock()
        stopRequested = true
        if idle { POSIX.shutdownRead(fd) }
        stateLock.unlock()
    }

    /// Ends all I/O on the socket now (the grace period is over).
    func interruptAll() { POSIX.shutdownBoth(fd) }

    var isStopRequested: Bool {
        stateLock.lock()
        defer { stateLock.unlock() }
        return stopRequested
    }

    // MARK: - The request loop

    func run() {
        defer { POSIX.close(fd) }
        while let head = readHead() {
            guard serve(head) else { return }
            if isStopRequested { return }
        }
    }

    /// Reads until a whole head is parsed. Nil means close now (EOF, idle timeout, stop, or an error answered).
    private func readHead() -> RequestHead? {
        parser.reset()
        // A reserved connection gets no idle wait: its one head must arrive within the header timeout of accept,
        // so a reserve slot is never held for long.
        var headerDeadline: Double? = readIndex < writeIndex || isReserved
            ? POSIX.monotonicSeconds() + configuration.headerTimeout : nil
        while true {
            if readIndex < writeIndex {
                let result = buffer.withUnsafeBytes { bytes in
                    parser.parse(UnsafeRawBufferPointer(rebasing: bytes[readIndex..<writeIndex]))
                }
                switch result {
                case .complete(let head, let used):
                    readIndex += used
                    return head
                case .invalid(let error):
                    fail(error, minorVersion: 1, requestId: nextRequestId(for: nil), request: nil)
                    return nil
                case .needMore:
                    break
                }
            }
            makeRoom(limit: configuration.maxHeaderBytes + 4096)
            if let deadline = headerDeadline {
                // Part of a head is here: the rest must arrive before the header deadline (slowloris).
                switch fill(until: deadline) {
                case .data: continue
                case .closed: return nil
                case .timedOut:
                    fail(HTTPError(.requestTimeout, code: "header_timeout", message: "request head not received in time"),
                         minorVersion: 1, requestId: nextRequestId(for: nil), request: nil)
                    return nil
                }
            }
            // Nothing of the next request yet: a plain blocking read, bounded by SO_RCVTIMEO = idle timeout.
            guard enterIdle() else { return nil }
            let received = receive()
            leaveIdle()
            guard received > 0 else { return nil }
            headerDeadline = POSIX.monotonicSeconds() + configuration.headerTimeout
        }
    }

    /// Routes, reads the body, runs the handler and answers. Returns whether to keep the connection.
    private func serve(_ head: RequestHead) -> Bool {
        let started = POSIX.monotonicSeconds()
        requestCount += 1
        let requestId = nextRequestId(for: head)
        if isReserved {
            guard (head.method == .get || head.method == .head) && configuration.reservedPaths.contains(head.path) else {
                fail(HTTPServer.poolFull(answering: configuration.reservedPaths), minorVersion: head.minorVersion,
                     requestId: requestId, request: head, started: started)
                return false
            }
        }
        let route: Router.Route, parameters: [String: String]
        switch server.router.match(method: head.method, segments: head.pathSegments) {
        case .found(let found, let foundParameters):
            route = found
            parameters = foundParameters
        case .notFound:
            return answerWithoutHandler(Router.notFound(head.method, head.path), head: head, requestId: requestId,
                                        started: started)
        case .methodNotAllowed(let allowed):
            return answerWithoutHandler(Router.methodNotAllowed(head.method, head.path, allowed: allowed), head: head,
                                        requestId: requestId, started: started)
        }
        if let refusal = server.router.admission?(head, route) {
            return answerWithoutHandler(refusal, head: head, requestId: requestId, started: started)
        }

        let body: RequestBody, trailers: HTTPHeaders
        var reserved = 0
        // The budget is returned once the handler has answered and the body is dropped, whatever happened.
        defer { server.bodyBudget.release(reserved) }
        switch readBody(head, maxBodySize: route.maxBodySize ?? configuration.defaultMaxBodySize,
                        inMemorySize: route.inMemoryBodySize ?? configuration.inMemoryBodyLimit, reserved: &reserved) {
        case .success(let read):
            (body, trailers) = read
        case .failure(.respond(let error)):
            fail(error, minorVersion: head.minorVersion, requestId: requestId, request: head, started: started)
            return false
        case .failure(.disconnected):
            logger.debug("client left during the body", metadata: ["request_id": "\(requestId)"])
            return false
        }
        let request = Request(head: head, pathParameters: parameters, body: body, trailers: trailers,
                              requestId: requestId, remoteAddress: remoteAddress)
        var response: Response
        do {
            response = try route.handler(request)
        } catch {
            response = ErrorBody.response(for: error, requestId: requestId, logger: logger)
        }
        // Before answering, so a client that got its response never finds the spooled file still there.
        body.discard()
        return send(response, for: head, requestId: requestId, started: started)
    }

    /// Answers 404, 405 or an admission refusal without reading the body. A request that has one is not worth
    /// reading, so the answer ends the connection, with a lingering close: a client still sending its body then
    /// reads the answer instead of a reset.
    private func answerWithoutHandler(_ error: HTTPResponseError, head: RequestHead, requestId: String,
                                      started: Double) -> Bool {
        guard head.framing == .none else {
            fail(error, minorVersion: head.minorVersion, requestId: requestId, request: head, started: started)
            return false
        }
        return send(error.response, for: head, requestId: requestId, started: started)
    }

    // MARK: - Reading

    enum FillResult { case data, closed, timedOut }

    /// Waits for input until `deadline`, then reads what is there into the buffer.
    func fill(until deadline: Double) -> FillResult {
        let remaining = deadline - POSIX.monotonicSeconds()
        guard remaining > 0 else { return .timedOut }
        switch POSIX.waitReadable(fd, wake: nil, timeout: remaining) {
        case .timedOut, .woken: return .timedOut
        case .readable: return receive() > 0 ? .data : .closed
        }
    }

    /// One recv into the free end of the buffer; 0 on EOF, error or timeout.
    private func receive() -> Int {
        if writeIndex == buffer.count { makeRoom(limit: buffer.count) }
        let count = buffer.withUnsafeMutableBytes { bytes in
            (try? POSIX.receive(fd, into: UnsafeMutableRawBufferPointer(rebasing: bytes[writeIndex...]))) ?? 0
        }
        writeIndex += count
        return count
    }

    /// Moves unconsumed bytes to the front, and grows the buffer (up to `limit`) when it is still full.
    func makeRoom(limit: Int) {
        if readIndex == writeIndex {
            readIndex = 0
            writeIndex = 0
        }
        guard writeIndex == buffer.count else { return }
        if readIndex > 0 {
            buffer.withUnsafeMutableBytes { bytes in
                bytes.baseAddress!.copyMemory(from: bytes.baseAddress! + readIndex, byteCount: writeIndex - readIndex)
            }
            writeIndex -= readIndex
            readIndex = 0
        } else if buffer.count < limit {
            buffer.append(contentsOf: repeatElement(0, count: min(buffer.count, limit - buffer.count)))
        }
    }

    /// Drops all buffered input.
    func discardBuffered() {
        readIndex = 0
        writeIndex = 0
    }

    /// Bytes buffered and not yet consumed.
    var bufferedCount: Int { writeIndex - readIndex }

    /// Hands up to `maximum` buffered bytes to `body` and consumes them.
    func consumeBuffered(maximum: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows -> Int {
        let count = min(maximum, writeIndex - readIndex)
        guard count > 0 else { return 0 }
        try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[readIndex..<(readIndex + count)])) }
        readIndex += count
        return count
    }

    /// Hands all buffered bytes to `body`, which says how many it consumed.
    func withBuffered<Result>(_ body: (UnsafeRawBufferPointer) throws -> (consumed: Int, result: Result)) rethrows -> Result {
        let (consumed, result) = try buffer.withUnsafeBytes {
            try body(UnsafeRawBufferPointer(rebasing: $0[readIndex..<writeIndex]))
        }
        readIndex += consumed
        return result
    }

    /// Sends the interim `100 Continue` that a client waiting on `Expect: 100-continue` needs.
    func sendContinue() throws {
        try Array("HTTP/1.1 100 Continue\r\n\r\n".utf8).withUnsafeBytes { try POSIX.sendAll(fd, $0) }
    }

    private func enterIdle() -> Bool {
        stateLock.lock()
        defer { stateLock.unlock() }
        if stopRequested { return false }
        idle = true
        return true
    }

    private func leaveIdle() {
        stateLock.lock()
        idle = false
        stateLock.unlock()
    }

    // MARK: - Request ids and the access log

    /// The client's `X-Request-Id` when it is a short safe token, else a new id unique to this server instance.
    private func nextRequestId(for head: RequestHead?) -> String {
        if let incoming = head?.headers["X-Request-Id"], (1...128).contains(incoming.utf8.count),
           incoming.utf8.allSatisfy({ CharacterClass.isTokenByte($0) || $0 == UInt8(ascii: ":") }) {
            return incoming
        }
        return "\(server.instancePrefix)-\(id)-\(requestCount)"
    }

    func logAccess(_ head: RequestHead, status: HTTPStatus, bytes: Int, requestId: String, started: Double,
                           note: String?) {
        let level = configuration.accessLogLevel
        guard logger.logLevel <= level else { return }
        var metadata: Logger.Metadata = [
            "method": "\(head.method.rawValue)", "path": "\(head.path)", "status": "\(status.code)",
            "bytes": "\(bytes)", "duration_ms": "\(Self.milliseconds(POSIX.monotonicSeconds() - started))",
            "request_id": "\(requestId)", "remote": "\(remoteAddress)",
        ]
        if let note { metadata["note"] = "\(note)" }
        logger.log(level: level, "request", metadata: metadata)
    }

    /// `seconds` as milliseconds with three decimals (`0.042`), without Foundation's `String(format:)`, which costs
    /// more than the rest of a /health request.
    static func milliseconds(_ seconds: Double) -> String {
        let microseconds = max(0, Int((seconds * 1_000_000).rounded()))
        let fraction = microseconds % 1000
        return "\(microseconds / 1000)." + (fraction < 10 ? "00" : fraction < 100 ? "0" : "") + "\(fraction)"
    }
}
