// Writing responses: one send for head and body, files in pieces, chunked streams, and error-then-close.
import Foundation
import Logging

extension HTTPConnection {
    // MARK: - Writing

    /// Writes `response` (one send for head and body; chunks for streams). Returns whether to keep the connection.
    func send(_ response: Response, for head: RequestHead, requestId: String, started: Double) -> Bool {
        var response = response
        var file: FileHandle?
        if case .file(let url) = response.body {
            do {
                file = try FileHandle(forReadingFrom: url)
            } catch {
                response = ErrorBody.response(for: error, requestId: requestId, logger: logger)
            }
        }
        defer { try? file?.close() }
        // A reserved connection serves one request, so that the reserve is free again at once.
        var keepAlive = head.keepAlive && !response.closesConnection && !isStopRequested && !isReserved
        let omitBody = head.method == .head || response.status.forbidsBody
        var output: [UInt8] = []
        var bodyBytes = 0
        var streamBody: (@Sendable (ResponseBodyWriter) throws -> Void)?
        switch response.body {
        case .empty, .bytes:
            var bytes: [UInt8] = []
            if case .bytes(let content) = response.body { bytes = content }
            output.reserveCapacity(256 + (omitBody ? 0 : bytes.count))
            encoder.appendHead(
                to: &output, status: response.status, headers: response.headers,
                contentLength: response.status.forbidsBody ? nil : bytes.count, chunked: false, keepAlive: keepAlive,
                requestId: requestId, minorVersion: head.minorVersion)
            if !omitBody {
                output.append(contentsOf: bytes)
                bodyBytes = bytes.count
            }
        case .file:
            let size = Int((try? file?.seekToEnd()) ?? 0)
            try? file?.seek(toOffset: 0)
            encoder.appendHead(
                to: &output, status: response.status, headers: response.headers, contentLength: size, chunked: false,
                keepAlive: keepAlive, requestId: requestId, minorVersion: head.minorVersion)
            if omitBody { file = nil }
            bodyBytes = omitBody ? 0 : size
        case .stream(let body):
            // HTTP/1.0 has no chunked coding: the body ends when the connection closes.
            if head.minorVersion == 0 { keepAlive = false }
            encoder.appendHead(
                to: &output, status: response.status, headers: response.headers, contentLength: nil,
                chunked: head.minorVersion == 1 && !response.status.forbidsBody, keepAlive: keepAlive,
                requestId: requestId, minorVersion: head.minorVersion)
            if !omitBody { streamBody = body }
        }
        do {
            try output.withUnsafeBytes { try POSIX.sendAll(fd, $0) }
            if let file { try sendFile(file, length: bodyBytes) }
            if let streamBody {
                bodyBytes = try stream(streamBody, chunked: head.minorVersion == 1)
            }
        } catch {
            logAccess(head, status: response.status, bytes: bodyBytes, requestId: requestId, started: started, note: "\(error)")
            return false
        }
        logAccess(head, status: response.status, bytes: bodyBytes, requestId: requestId, started: started, note: nil)
        return keepAlive
    }

    /// Sends exactly `length` bytes of `file` in pieces; a file that shrank ends the connection (Content-Length
    /// was promised).
    private func sendFile(_ file: FileHandle, length: Int) throws {
        var remaining = length
        while remaining > 0 {
            guard let piece = try file.read(upToCount: min(remaining, 256 << 10)), !piece.isEmpty else {
                throw HTTPError(.internalServerError, code: "file_changed", message: "file shrank while being sent")
            }
            try piece.withUnsafeBytes { try POSIX.sendAll(fd, $0) }
            remaining -= piece.count
        }
    }

    /// Runs a streaming body, each write one chunk in one send; returns the body bytes written.
    private func stream(_ body: (ResponseBodyWriter) throws -> Void, chunked: Bool) throws -> Int {
        var total = 0
        let fd = self.fd
        let writer = ResponseBodyWriter(
            send: { bytes in
                var frame: [UInt8] = []
                if chunked {
                    frame.reserveCapacity(bytes.count + 20)
                    frame.append(contentsOf: String(bytes.count, radix: 16).utf8)
                    frame.append(contentsOf: "\r\n".utf8)
                    frame.append(contentsOf: bytes)
                    frame.append(contentsOf: "\r\n".utf8)
                } else {
                    frame = bytes
                }
                try frame.withUnsafeBytes { try POSIX.sendAll(fd, $0) }
                total += bytes.count
            },
            clientGone: { POSIX.peerHasClosed(fd) },
            serverStopping: { [weak self] in self?.isStopRequested ?? true })
        try body(writer)
        if chunked {
            try Array("0\r\n\r\n".utf8).withUnsafeBytes { try POSIX.sendAll(fd, $0) }
        }
        return total
    }

    /// Answers an error that ends the connection, then closes it without cutting off the response.
    func fail(_ error: HTTPResponseError, minorVersion: Int, requestId: String, request: RequestHead?,
                      started: Double? = nil) {
        let response = error.response
        var output: [UInt8] = []
        guard case .bytes(let body) = response.body else { return }
        encoder.appendHead(to: &output, status: response.status, headers: response.headers, contentLength: body.count,
                           chunked: false, keepAlive: false, requestId: requestId, minorVersion: minorVersion)
        if request?.method != .head { output.append(contentsOf: body) }
        try? output.withUnsafeBytes { try POSIX.sendAll(fd, $0) }
        if let request {
            logAccess(request, status: error.status, bytes: body.count, requestId: requestId,
                      started: started ?? POSIX.monotonicSeconds(), note: error.code)
        } else {
            logger.log(level: configuration.accessLogLevel, "rejected request", metadata: [
                "status": "\(error.status.code)", "code": "\(error.code)", "request_id": "\(requestId)",
                "remote": "\(remoteAddress)",
            ])
        }
        lingeringClose()
    }

    /// Half-closes, then drains unread input for a short while: closing with unread data would send a reset
    /// that can destroy the error response before the client reads it.
    private func lingeringClose() {
        POSIX.shutdownWrite(fd)
        let deadline = POSIX.monotonicSeconds() + configuration.lingerTimeout
        discardBuffered()
        while case .data = fill(until: deadline) { discardBuffered() }
    }
}
