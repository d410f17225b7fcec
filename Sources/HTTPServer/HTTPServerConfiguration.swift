// Every limit and timeout of the HTTP server in one place, each with a safe default.
import Foundation
import Logging

/// Limits, timeouts and addresses for an `HTTPServer`. The defaults are safe for a service exposed on a network:
/// small heads, bounded connections, and timeouts that close slow or idle clients.
public struct HTTPServerConfiguration: Sendable {
    // MARK: - Address

    /// Host to bind: an IPv4 or IPv6 literal (`127.0.0.1`, `::1`, `0.0.0.0`, `::`) or a name such as `localhost`.
    /// `::` listens on IPv6 and, where the system allows, IPv4 too.
    public var host: String = "127.0.0.1"
    /// TCP port; 0 lets the system pick a free one, which `HTTPServer.port` reports after `start()`.
    public var port: Int = 8080
    /// Pending-connection queue length passed to `listen(2)`.
    public var backlog: Int = 1024

    // MARK: - Parsing limits

    /// Longest request line (method, target and version) before the server answers 414.
    public var maxRequestLineLength: Int = 8 * 1024
    /// Largest request head (request line plus all headers) before the server answers 431.
    public var maxHeaderBytes: Int = 32 * 1024
    /// Most header fields in one request before the server answers 431.
    public var maxHeaderCount: Int = 100
    /// Longest chunk-size line (size and extensions) of a chunked body before the server answers 400.
    public var maxChunkLineLength: Int = 1024

    // MARK: - Bodies

    /// Body cap for routes that do not declare their own (`Router.add(..., maxBodySize:)`); beyond it, 413.
    public var defaultMaxBodySize: Int = 1 << 20
    /// Bodies up to this size stay in memory; larger ones are streamed to a file in `temporaryDirectory`.
    public var inMemoryBodyLimit: Int = 1 << 20
    /// Bytes of larger bodies that routes declaring an `inMemoryBodySize` may hold in memory at once, across all
    /// connections. A body with a Content-Length that fits what is left stays in memory (no disk round trip for
    /// a 19 MB tensor batch); others spool to disk as usual, so many large requests at once cannot exhaust memory.
    public var inMemoryBodyBudget: Int = 256 << 20
    /// Where large request bodies are spooled; each file is removed after its request unless the handler moves it.
    public var temporaryDirectory: URL = FileManager.default.temporaryDirectory

    // MARK: - Timeouts (seconds)

    /// Time allowed to receive a whole request head once its first byte arrived (slowloris protection): 408, close.
    public var headerTimeout: Double = 10
    /// Time a kept-alive connection may wait for the next request before it is closed.
    public var idleTimeout: Double = 60
    /// Longest pause while receiving a body (a gigabyte upload may take long, but must keep moving).
    public var bodyReadTimeout: Double = 30
    /// The average rate, in bytes per second, a body must keep up once `bodyRateGracePeriod` has passed; below it,
    /// 408 and close. The pause timeout alone lets a client that sends a byte every 25 s hold a connection for
    /// ever; the floor bounds how long a body can take (its size over this rate). 16 KiB/s is a 128 kbit/s link:
    /// any honest uplink is faster, a 1 GiB upload at exactly the floor still gets 18 hours, while holding all
    /// 1024 connections costs an attacker 16 MiB/s of sustained sending. 0 turns the floor off.
    public var minimumBodyBytesPerSecond: Int = 16 * 1024
    /// How long a body may start slowly (TCP slow start, a client reading its file) before the rate floor applies.
    public var bodyRateGracePeriod: Double = 10
    /// Longest time one send may block on a client that does not read.
    public var writeTimeout: Double = 30
    /// After an error that closes the connection, how long unread input is drained so the client sees the response.
    public var lingerTimeout: Double = 1
    /// Default time `shutdown()` lets in-flight requests finish before connections are closed forcibly.
    public var shutdownGracePeriod: Double = 10

    // MARK: - Concurrency

    /// Most connections served at once. Each has its own thread (handlers may block on SQLite or CPU work);
    /// beyond this count (and the reserve) a new connection gets an immediate 503 and is closed.
    public var maxConnections: Int = 1024
    /// Most connections one client holds at once, reserved ones included; beyond it that client alone gets 503.
    /// A client is an IPv4 address or an IPv6 /64 (one host usually holds a whole /64). Behind a reverse proxy
    /// every client shares the proxy's address: raise it to `maxConnections` there.
    public var maxConnectionsPerClient: Int = 64
    /// Connections kept beyond `maxConnections` for health checks: while the general pool is full, a new
    /// connection takes one of these and may only ask for `reservedPaths` (GET or HEAD), one request, its head
    /// within `headerTimeout`; anything else is a 503. One client holds at most one of them at a time, so a
    /// load balancer still sees the server alive while one client floods it.
    public var reservedConnections: Int = 8
    /// The paths a reserved connection may ask for.
    public var reservedPaths: Set<String> = ["/health", "/ready"]
    /// Stack size of each connection thread, in bytes.
    public var threadStackSize: Int = 2 << 20

    // MARK: - Logging

    /// Level of the one access-log line written per request; raise the logger's level above it to silence them.
    public var accessLogLevel: Logger.Level = .info

    /// The defaults: `127.0.0.1:8080`.
    public init() {}

    /// The defaults, listening on `host` and `port`.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

extension HTTPRequestParser.Limits {
    /// The parser limits of a server configuration.
    public init(_ configuration: HTTPServerConfiguration) {
        self.init(
            maxRequestLineLength: configuration.maxRequestLineLength,
            maxHeaderBytes: configuration.maxHeaderBytes,
            maxHeaderCount: configuration.maxHeaderCount)
    }
}
