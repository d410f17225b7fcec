// Every POSIX call of the server (sockets, poll, pipes, temporary files, signals): the one file importing Glibc.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call: which one, and the `errno` text. Thrown by everything in `POSIX`.
public struct SystemCallError: Error, Sendable, CustomStringConvertible {
    /// The call that failed (`bind`, `recv`, …), with context.
    public var operation: String
    /// The `errno` value.
    public var errorNumber: Int32

    public var description: String {
        "\(operation) failed: \(String(cString: strerror(errorNumber))) (errno \(errorNumber))"
    }

    /// The error for the current `errno`.
    static func current(_ operation: String) -> SystemCallError {
        SystemCallError(operation: operation, errorNumber: errno)
    }

    var isTimeout: Bool { errorNumber == EAGAIN || errorNumber == EWOULDBLOCK }
}

/// Thin, typed wrappers over the socket, poll, file and signal calls the server makes.
enum POSIX {
    /// What waiting for input on a connection found.
    enum WaitResult {
        case readable, timedOut, woken
    }

    // MARK: - Listening

    /// Binds and listens on `host:port`; returns the socket and the bound port (useful when `port` is 0).
    static func listen(host: String, port: Int, backlog: Int) throws -> (fd: Int32, port: Int) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var results: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &results)
        guard status == 0, let first = results else {
            throw SystemCallError(operation: "getaddrinfo(\(host)): \(String(cString: gai_strerror(status)))", errorNumber: 0)
        }
        defer { freeaddrinfo(results) }
        let info = first.pointee
        let fd = socket(info.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemCallError.current("socket") }
        var one: Int32 = 1, zero: Int32 = 0
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if info.ai_family == AF_INET6 {
            // "::" serves IPv4 too, where the system allows dual-stack sockets.
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &zero, socklen_t(MemoryLayout<Int32>.size))
        }
        guard bind(fd, info.ai_addr, info.ai_addrlen) == 0 else {
            let error = SystemCallError.current("bind(\(host):\(port))")
            Glibc.close(fd)
            throw error
        }
        guard Glibc.listen(fd, Int32(backlog)) == 0 else {
            let error = SystemCallError.current("listen")
            Glibc.close(fd)
            throw error
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, portOf(storage))
    }

    /// Accepts one connection (TCP_NODELAY and both timeouts set); nil when interrupted or none is pending.
    /// A blocking recv that waits longer than `receiveTimeout` fails, which ends idle keep-alive connections.
    /// `remote` is the peer's address and port; `client` what the per-client cap counts (see `clientKey`).
    static func accept(_ listener: Int32, sendTimeout: Double, receiveTimeout: Double) throws
        -> (fd: Int32, remote: String, client: String)?
    {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.accept(listener, $0, &length)
            }
        }
        guard fd >= 0 else {
            switch errno {
            case EINTR, EAGAIN, ECONNABORTED, EPROTO: return nil
            default: throw SystemCallError.current("accept")
            }
        }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(seconds: sendTimeout)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        timeout = timeval(seconds: receiveTimeout)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return (fd, describe(storage), clientKey(storage))
    }

    // MARK: - Reading and writing

    /// Waits until `fd` is readable, `wake` (if any) is readable, or `timeout` seconds pass.
    static func waitReadable(_ fd: Int32, wake: Int32?, timeout: Double) -> WaitResult {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        if let wake { fds.append(pollfd(fd: wake, events: Int16(POLLIN), revents: 0)) }
        let deadline = monotonicSeconds() + timeout
        while true {
            let remaining = max(0, deadline - monotonicSeconds())
            let milliseconds = Int32(min(remaining * 1000, Double(Int32.max)).rounded(.up))
            let count = poll(&fds, nfds_t(fds.count), milliseconds)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return .timedOut }
            if fds[0].revents != 0 { return .readable }  // data, EOF or error: recv tells which
            return .woken
        }
    }

    /// Reads what is available into `buffer`; 0 means the peer closed.
    static func receive(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let count = recv(fd, buffer.baseAddress, buffer.count, 0)
            if count >= 0 { return count }
            if errno == EINTR { continue }
            if errno == ECONNRESET { return 0 }
            throw SystemCallError.current("recv")
        }
    }

    /// Sends all of `bytes` (MSG_NOSIGNAL: a closed peer is an error, not SIGPIPE); throws on timeout or reset.
    static func sendAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if sent < 0 {
                if errno == EINTR { continue }
                throw SystemCallError.current("send")
            }
            offset += sent
        }
    }

    /// Sends what fits without blocking; used for the 503 written by the accepting thread.
    static func sendWithoutBlocking(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) {
        _ = send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
    }

    /// What one read that must not block found.
    enum NonBlockingRead {
        /// This many bytes were read.
        case data(Int)
        /// Nothing is queued now (or the call was interrupted): try again later.
        case nothingYet
        /// The peer closed, or the socket failed.
        case ended
    }

    /// Reads what is queued on `fd` into `buffer` without waiting (MSG_DONTWAIT).
    static func receiveWithoutBlocking(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> NonBlockingRead {
        let count = recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
        if count > 0 { return .data(count) }
        if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) { return .nothingYet }
        return .ended
    }

    /// Waits up to `milliseconds` for input on any of `fds`; returns each descriptor that has an event, `failed`
    /// when that event is an error (POLLERR, POLLNVAL) rather than input or a hang-up. Empty on timeout or EINTR.
    static func pollInput(_ fds: [Int32], milliseconds: Int32) -> [(fd: Int32, failed: Bool)] {
        var entries = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        guard poll(&entries, nfds_t(entries.count), milliseconds) > 0 else { return [] }
        return entries.filter { $0.revents != 0 }.map { ($0.fd, $0.revents & Int16(POLLERR | POLLNVAL) != 0) }
    }

    /// Reads and drops whatever input is already queued, without waiting: closing a socket with unread input
    /// sends a reset, which can destroy a response the client has not read yet.
    static func discardQueuedInput(_ fd: Int32) {
        var scratch = [UInt8](repeating: 0, count: 4096)
        while scratch.withUnsafeMutableBytes({ recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }) > 0 {}
    }

    /// True when the peer has hung up (for long-running streams that are not reading).
    static func peerHasClosed(_ fd: Int32) -> Bool {
        let readHangUp: Int16 = 0x2000  // POLLRDHUP, a GNU extension the Swift module does not export
        var entry = pollfd(fd: fd, events: readHangUp, revents: 0)
        guard poll(&entry, 1, 0) > 0 else { return false }
        return entry.revents & (readHangUp | Int16(POLLHUP) | Int16(POLLERR)) != 0
    }

    /// Stops further sends (the peer sees EOF after the response) while reads continue.
    static func shutdownWrite(_ fd: Int32) { _ = Glibc.shutdown(fd, Int32(SHUT_WR)) }

    /// Stops reads: a thread blocked in recv on this socket returns 0 at once; sends still work.
    static func shutdownRead(_ fd: Int32) { _ = Glibc.shutdown(fd, Int32(SHUT_RD)) }

    /// Stops both directions: wakes a thread blocked on this socket without closing the descriptor under it.
    static func shutdownBoth(_ fd: Int32) { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) }

    /// Closes a descriptor.
    static func close(_ fd: Int32) { _ = Glibc.close(fd) }

    // MARK: - Temporary files

    /// Creates a new file in `directory`, open for writing; returns its descriptor and path.
    static func makeTemporaryFile(in directory: URL) throws -> (fd: Int32, path: String) {
        var template = Array(directory.appendingPathComponent("graft-body-XXXXXX").path.utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw SystemCallError.current("mkstemp(\(directory.path))") }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return (fd, String(cString: template))
    }

    /// Writes all of `bytes` to a file descriptor.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw SystemCallError.current("write")
            }
            offset += written
        }
    }

    // MARK: - Signals and time

    /// Installs a SIGTERM and SIGINT handler that writes the signal number to a pipe (the async-signal-safe way
    /// to leave a handler) and returns the pipe's read end, for a thread to block on with `readSignal`.
    /// A handler rather than a dispatch source: on Linux an ignored process-directed signal is dropped before a
    /// signalfd in one thread could see it.
    static func installTerminationHandler() throws -> Int32 {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw SystemCallError.current("pipe") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        terminationPipe = fds[1]
        for signal in [SIGTERM, SIGINT] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(terminationPipe, &byte, 1)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            guard sigaction(signal, &action, nil) == 0 else { throw SystemCallError.current("sigaction") }
        }
        // A parent may hand down a mask that blocks them (a test runner launching `graft serve` does): unblock
        // them in this thread, so the signal is delivered here rather than pending forever.
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        sigaddset(&unblocked, SIGTERM)
        sigaddset(&unblocked, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &unblocked, nil)
        return fds[0]
    }

    /// Restores the default action of `signal` and raises it again (no server wants it any more).
    static func reraiseWithDefaultAction(_ signal: Int32) {
        _ = Glibc.signal(signal, SIG_DFL)
        _ = raise(signal)
    }

    /// Blocks until a signal number arrives on the pipe from `installTerminationHandler`.
    static func readSignal(_ fd: Int32) -> Int32? {
        var byte: UInt8 = 0
        while true {
            let count = read(fd, &byte, 1)
            if count == 1 { return Int32(byte) }
            if count < 0 && errno == EINTR { continue }
            return nil
        }
    }

    /// Seconds on a monotonic clock.
    static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    // MARK: - Addresses

    private static func portOf(_ storage: sockaddr_storage) -> Int {
        var storage = storage
        let family = Int32(storage.ss_family)
        return withUnsafePointer(to: &storage) { pointer in
            if family == AF_INET6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
        }
    }

    /// The client a peer address belongs to: its IPv4 address (also when it arrives IPv4-mapped on a dual-stack
    /// socket), or for IPv6 its /64 network (`2001:db8:1:2::/64`), because one host usually holds a whole /64 and
    /// could otherwise open connections from as many addresses as it likes.
    static func clientKey(_ storage: sockaddr_storage) -> String {
        guard Int32(storage.ss_family) == AF_INET6 else { return numericHost(storage) }
        var address = storage
        let mapped = withUnsafeMutableBytes(of: &address) { raw -> Bool in
            raw.withMemoryRebound(to: sockaddr_in6.self) { pointer in
                withUnsafeMutableBytes(of: &pointer[0].sin6_addr) { bytes in
                    if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF { return true }
                    for index in 8..<16 { bytes[index] = 0 }
                    pointer[0].sin6_scope_id = 0
                    return false
                }
            }
        }
        let host = numericHost(mapped ? storage : address)
        return mapped ? String(host.dropFirst("::ffff:".count)) : host + "/64"
    }

    private static func describe(_ storage: sockaddr_storage) -> String {
        "\(numericHost(storage)):\(portOf(storage))"
    }

    /// The address as numeric text (`127.0.0.1`, `::1`), without the port.
    private static func numericHost(_ storage: sockaddr_storage) -> String {
        var storage = storage
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let length = socklen_t(Int32(storage.ss_family) == AF_INET6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
        let status = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, length, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST)
            }
        }
        guard status == 0 else { return "unknown" }
        return String(cString: host)
    }
}

/// Write end of the termination-signal pipe, read by the signal handler (which cannot capture context).
nonisolated(unsafe) private var terminationPipe: Int32 = -1

private extension timeval {
    init(seconds: Double) {
        self.init(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1_000_000))
    }
}
