// `graft serve` in one object: the service, its routes on an HTTP server, signals, and the shutdown order.
import Foundation
import HTTPServer
import Logging
import Metrics
import Prometheus

/// Runs the service behind the HTTP server until SIGTERM/SIGINT or `stop()`.
///
/// Shutdown order: the HTTP server stops accepting and lets in-flight requests and event streams end, then the
/// workers finish their current step, checkpoint and hand their jobs back to the queue.
public final class ServiceHost: @unchecked Sendable {
    public let service: Service
    public let server: HTTPServer
    public let metricsRegistry: PrometheusCollectorRegistry

    /// - Parameters:
    ///   - apiToken: the bearer token every route but the probes and the OpenAPI document requires; nil for none.
    ///   - publicPredict: serve `POST /predict` without the token.
    ///   - bootstrapMetrics: route swift-metrics into `metricsRegistry` (once per process; the command line does
    ///     it, tests do not).
    public init(service: Service, http: HTTPServerConfiguration, apiToken: String? = nil, publicPredict: Bool = false,
                defaultBaseModelID: String? = nil, bootstrapMetrics: Bool = false,
                logger: Logger = Logger(label: "graft.http")) {
        self.service = service
        metricsRegistry = PrometheusCollectorRegistry()
        if bootstrapMetrics {
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metricsRegistry))
        }
        let router = Router()
        ServiceRoutes(service: service, apiToken: apiToken, publicPredict: publicPredict,
                      defaultBaseModelID: defaultBaseModelID, metricsRegistry: metricsRegistry).register(on: router)
        server = HTTPServer(configuration: http, router: router, logger: logger)
    }

    /// Starts the workers (after recovering abandoned jobs) and the HTTP server; returns once the port is bound.
    public func start(stopOnSignals: Bool = false) throws {
        try service.start()
        do {
            try server.start()
        } catch {
            service.shutdown()
            throw error
        }
        if stopOnSignals { server.stopOnTerminationSignals() }
    }

    /// The bound port.
    public var port: Int { server.port }

    /// Blocks until the server stopped (a signal or `stop()`), then stops the workers gracefully.
    public func waitUntilStopped() {
        server.waitUntilStopped()
        service.shutdown()
    }

    /// Stops the HTTP server, then the workers.
    public func stop() {
        server.shutdown()
        service.shutdown()
    }

    /// `graft serve`: start, serve until SIGTERM or SIGINT, shut down in order.
    public func run() throws {
        try start(stopOnSignals: true)
        waitUntilStopped()
    }
}
