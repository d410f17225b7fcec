// The HTTP/1.1 server: listens, accepts up to a bounded number of connections, and shuts down gracefully.
import Foundation
import Logging

/// A NIO-free HTTP/1.1 server on POSIX sockets.
///
/// Concurrency model: one accepting thread, and one thread per connection up to
/// `configuration.maxConnections`. Route handlers may block (SQLite, CPU work), which an event loop would not
/// tolerate; a thread per connection keeps a slow handler from stalling others, and the cap bounds threads and
/// memory: beyond it a new connection gets an immediate 503 and is closed. Fairness: one client holds at most
/// `maxConnectionsPerClient` of them, and `reservedConnections` more are kept for health checks
/// (`reservedPaths`) while the general pool is full. Connection threads read with
/// blocking calls (poll only where a deadline applies), send each response in one call, and keep connections
/// alive with pipelining.
///
/// ```swift
/// let router = Router()
/// router.get("/health") { _ in .text("ok") }
/// let server = HTTPServer(configuration: .init(host: "127.0.0.1", port: 0), router: router, logger: logger)
/// try server.start()              // server.port is now the bound port
/// server.stopOnTerminationSignals() // SIGTERM/SIGINT → graceful shutdown
/// server.waitUntilStopped()
/// ```
public final class HTTPServer: @unchecked Sendable {
    /// The limits and timeouts in force.
    public let configuration: HTTPServerConfiguration
    /// The routes.
    public let router: Router
    let logger: Logger

    private let lock = NSCondition()
    private var listener: Int32 = -1
    private var boundPort = 0
    private var state = State.idle
    private var connections: [Int: HTTPConnection] = [:]
    /// Connections per client (`HTTPConnection.client`), how many of `connections` came from the reserve, and the
    /// clients holding one of those (one each, so a single client cannot take the whole reserve).
    private var connectionsPerClient: [String: Int] = [:]
    private var reservedCount = 0
    private var clientsInReserve: Set<String> = []
    private var nextConnectionId = 0
    private var acceptThreadDone = false
    /// Drains refused connections before closing them, off the accept thread.
    private let refusedSockets: LingeringCloser
    /// Refusals not yet logged, and when the last log line was written (accept thread only).
    private var refusedSinceLog = 0
    private var lastRefusalLog = -Double.infinity
    /// What the large in-memory bodies of all connections hold now, against `inMemoryBodyBudget`.
    let bodyBudget: MemoryBudget
    /// A random prefix making request ids unique across restarts.
    let instancePrefix = String(UInt32.random(in: 0...UInt32.max), radix: 16)

    private enum State { case idle, running, stopping, stopped }

    public init(configuration: HTTPServerConfiguration, router: Router, logger: Logger = Logger(label: "graft.http")) {
        self.configuration = configuration
        self.router = router
        self.logger = logger
        refusedSockets = LingeringCloser(timeout: configuration.lingerTimeout)
        bodyBudget = MemoryBudget(capacity: configuration.inMemoryBodyBudget)
    }

    /// Number of refused connections being drained before they close.
    var lingeringCount: Int { refusedSockets.count }

    /// The bound port (the real one when the configuration asked for port 0); 0 before `start()`.
    public var port: Int {
        lock.lock()
        defer { lock.unlock() }
        return boundPort
    }

    /// Number of connections being served now, reserved ones included.
    public var connectionCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return connections.count
    }

    /// Number of connections served from the reserve now.
    var reservedConnectionCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return reservedCount
    }

    /// Binds, listens and starts accepting on a background thread; returns once the port is bound.
    public func start() throws {
        lock.lock()
        defer { lock.unlock() }
        precondition(state == .idle, "an HTTPServer starts once")
        let (fd, port) = try POSIX.listen(host: configuration.host, port: configuration.port, backlog: configuration.backlog)
        listener = fd
        boundPort = port
        state = .running
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "http-accept"
        thread.start()
        logger.info("listening", metadata: ["host": "\(configuration.host)", "port": "\(port)"])
    }

    /// Starts and blocks until the server has stopped (after `shutdown` or a termination signal).
    public func run() throws {
        try start()
        waitUntilStopped()
    }

    /// Blocks until `shutdown` has finished.
    public func waitUntilStopped() {
        lock.lock()
        while state != .stopped { lock.wait() }
        lock.unlock()
    }

    /// True once a shutdown began.
    public var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return state == .stopping || state == .stopped
    }

    /// Graceful shutdown: stops accepting, closes idle connections, lets in-flight requests (and streams, which
    /// see `isServerStopping`) finish for up to `gracePeriod` seconds (default `configuration.shutdownGracePeriod`),
    /// then closes what remains. Blocks until done; safe to call more than once and from any thread.
    public func shutdown(gracePeriod: Double? = nil) {
        lock.lock()
        if state == .idle {
            state = .stopped
            lock.broadcast()
            lock.unlock()
            return
        }
        if state != .running {
            while state != .stopped { lock.wait() }
            lock.unlock()
            return
        }
        state = .stopping
        // Wakes the accept thread (Linux returns from accept on a shut-down listener).
        POSIX.shutdownBoth(listener)
        // Idle keep-alive connections are blocked in recv: a read shutdown ends that wait at once, while a
        // request that has just arrived can still be answered on the write side.
        for connection in connections.values { connection.requestStop() }
        let deadline = POSIX.monotonicSeconds() + (gracePeriod ?? configuration.shutdownGracePeriod)
        while !connections.isEmpty || !acceptThreadDone {
            let remaining = deadline - POSIX.monotonicSeconds()
            if remaining <= 0 { break }
            _ = lock.wait(until: Date(timeIntervalSinceNow: remaining))
        }
        if !connections.isEmpty {
            logger.warning("closing connections still busy at the shutdown deadline", metadata: ["count": "\(connections.count)"])
            for connection in connections.values { connection.interruptAll() }
            // Give their threads a moment to notice; a handler stuck in CPU work is not waited for.
            let hardDeadline = Date(timeIntervalSinceNow: 1)
            while !connections.isEmpty && lock.wait(until: hardDeadline) {}
        }
        if acceptThreadDone && listener >= 0 {
            POSIX.close(listener)
            listener = -1
        }
        state = .stopped
        lock.broadcast()
        lock.unlock()
        refusedSockets.stop()
        logger.info("stopped")
    }

    /// Shuts down gracefully on SIGTERM or SIGINT (replacing their default actions for the whole process; every
    /// server that asked is shut down when one arrives).
    public func stopOnTerminationSignals(gracePeriod: Double? = nil) {
        Self.signalLock.lock()
        defer { Self.signalLock.unlock() }
        Self.signalObservers.append((self, gracePeriod))
        guard !Self.signalHandlerInstalled else { return }
        do {
            let pipe = try POSIX.installTerminationHandler()
            Self.signalHandlerInstalled = true
            let watcher = Thread {
                while let signal = POSIX.readSignal(pipe) {
                    Self.signalLock.lock()
                    let observers = Self.signalObservers
                    Self.signalObservers = []
                    Self.signalLock.unlock()
                    // No server is listening for it any more: let the signal do what it would have done.
                    if observers.isEmpty { POSIX.reraiseWithDefaultAction(signal) }
                    for (server, grace) in observers {
                        server.logger.info("termination signal received; shutting down", metadata: ["signal": "\(signal)"])
                        Thread { server.shutdown(gracePeriod: grace) }.start()
                    }
                }
            }
            watcher.name = "http-signals"
            watcher.start()
        } catch {
            logger.error("could not install the termination-signal handler", metadata: ["error": "\(error)"])
        }
    }

    private static let signalLock = NSLock()
    nonisolated(unsafe) private static var signalObservers: [(HTTPServer, Double?)] = []
    nonisolated(unsafe) private static var signalHandlerInstalled = false

    // MARK: - Accepting

    private func acceptLoop() {
        let fd = listener
        while !isStopping {
            let accepted: (fd: Int32, remote: String, client: String)?
            do {
                accepted = try POSIX.accept(
                    fd, sendTimeout: configuration.writeTimeout, receiveTimeout: configuration.idleTimeout)
            } catch {
                if isStopping { break }
                // EMFILE/ENFILE/ENOMEM: back off rather than spin.
                logger.error("accept failed", metadata: ["error": "\(error)"])
                Thread.sleep(forTimeInterval: 0.01)
                continue
            }
            guard let (clientFd, remote, client) = accepted else { continue }
            lock.lock()
            let reserved: Bool
            if state != .running {
                lock.unlock()
                refuse(clientFd, .stopping)
                continue
            } else if connectionsPerClient[client, default: 0] >= configuration.maxConnectionsPerClient {
                lock.unlock()
                refuse(clientFd, .clientAtLimit)
                continue
            } else if connections.count - reservedCount < configuration.maxConnections {
                reserved = false
            } else if reservedCount < configuration.reservedConnections && !clientsInReserve.contains(client) {
                reserved = true
            } else {
                lock.unlock()
                refuse(clientFd, .serverAtLimit)
                continue
            }
            nextConnectionId += 1
            let connection = HTTPConnection(fd: clientFd, id: nextConnectionId, remoteAddress: remote, client: client,
                                            isReserved: reserved, server: self)
            connections[connection.id] = connection
            connectionsPerClient[client, default: 0] += 1
            if reserved {
                reservedCount += 1
                clientsInReserve.insert(client)
            }
            lock.unlock()
            let thread = Thread { [self] in
                connection.run()
                lock.lock()
                connections[connection.id] = nil
                connectionsPerClient[client, default: 1] -= 1
                if connectionsPerClient[client] == 0 { connectionsPerClient[client] = nil }
                if reserved {
                    reservedCount -= 1
                    clientsInReserve.remove(client)
                }
                lock.broadcast()
                lock.unlock()
            }
            thread.stackSize = configuration.threadStackSize
            thread.name = "http-connection"
            thread.start()
        }
        lock.lock()
        acceptThreadDone = true
        if state == .stopped && listener >= 0 {
            POSIX.close(listener)
            listener = -1
        }
        lock.broadcast()
        lock.unlock()
    }

    /// Why a connection is refused at accept.
    private enum Refusal {
        case stopping, serverAtLimit, clientAtLimit
    }

    /// The 503 of a full server; `answering` names the paths a reserved connection still serves.
    static func poolFull(answering reservedPaths: Set<String>) -> HTTPError {
        let served = reservedPaths.isEmpty ? "" : " (only " + reservedPaths.sorted().joined(separator: " and ")
            + " are answered now)"
        return HTTPError(.serviceUnavailable, code: "too_many_connections",
                         message: "the server is at its connection limit\(served); retry shortly",
                         headers: ["Retry-After": "1"])
    }

    /// The fast answer to a connection beyond a cap (or during shutdown): a canned 503, then close.
    private func refuse(_ fd: Int32, _ reason: Refusal) {
        let error: HTTPError
        switch reason {
        case .stopping:
            error = HTTPError(.serviceUnavailable, code: "shutting_down", message: "the server is shutting down",
                              headers: ["Retry-After": "1"])
        case .serverAtLimit:
            error = Self.poolFull(answering: [])
        case .clientAtLimit:
            error = HTTPError(
                .serviceUnavailable, code: "too_many_client_connections",
                message: "this client already holds \(configuration.maxConnectionsPerClient) connections, the most one "
                    + "client may; reuse them (keep-alive) or close some, then retry",
                headers: ["Retry-After": "1"])
        }
        var bytes: [UInt8] = []
        var encoder = ResponseEncoder()
        let response = error.response
        guard case .bytes(let body) = response.body else { return }
        encoder.appendHead(to: &bytes, status: response.status, headers: response.headers, contentLength: body.count,
                           chunked: false, keepAlive: false, requestId: "\(instancePrefix)-refused", minorVersion: 1)
        bytes += body
        bytes.withUnsafeBytes { POSIX.sendWithoutBlocking(fd, $0) }
        POSIX.shutdownWrite(fd)
        refusedSockets.close(fd)
        // Only the accept thread runs this. A flood refuses thousands a second: log at most one line a second.
        refusedSinceLog += 1
        let now = POSIX.monotonicSeconds()
        if now - lastRefusalLog >= 1 {
            // count: refusals since the previous such line, this one included
            logger.warning("connections refused", metadata: ["reason": "\(error.code)", "count": "\(refusedSinceLog)"])
            lastRefusalLog = now
            refusedSinceLog = 0
        }
    }
}
