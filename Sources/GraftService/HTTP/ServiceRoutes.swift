// Registers the service's HTTP routes on a Router: health, readiness, jobs, models and datasets.
import Foundation
import HTTPServer
import Metrics
import Prometheus

/// The routes of `graft serve`, as closures over a `Service`.
///
/// Mutating routes require `Authorization: Bearer <token>` when a token is configured (`GRAFT_API_TOKEN`).
public struct ServiceRoutes: Sendable {
    public let service: Service
    /// The bearer token mutating routes require; nil leaves them open (the server binds 127.0.0.1 by default).
    public let apiToken: String?
    /// The base model used when POST /jobs names none; nil picks the first base model.
    public let defaultBaseModelID: String?
    /// What GET /metrics prints. Bootstrap swift-metrics with `PrometheusMetricsFactory(registry:)` on the same
    /// registry so the workers' counters and timers appear too.
    public let metricsRegistry: PrometheusCollectorRegistry

    public init(service: Service, apiToken: String? = nil, defaultBaseModelID: String? = nil,
                metricsRegistry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.service = service
        self.apiToken = apiToken.flatMap { $0.isEmpty ? nil : $0 }
        self.defaultBaseModelID = defaultBaseModelID
        self.metricsRegistry = metricsRegistry
    }

    /// Adds every route to `router`, each counted and timed per route pattern into `metricsRegistry`.
    public func register(on router: Router) {
        let plain = Router()
        registerRoutes(on: plain)
        let factory = PrometheusMetricsFactory(registry: metricsRegistry)
        for route in plain.routes {
            router.add(route.method, route.pattern, maxBodySize: route.maxBodySize,
                       handler: Self.instrumented(route, factory: factory))
        }
    }

    /// `route`'s handler, recording `graft_http_requests_total{method,route,status}` and the
    /// `graft_http_request_duration_seconds{method,route}` histogram. Labels use the pattern (`/jobs/:id`), not the
    /// path, so the number of series stays bounded.
    static func instrumented(_ route: Router.Route, factory: PrometheusMetricsFactory) -> Handler {
        let handler = route.handler
        let labels = [("method", route.method.rawValue), ("route", route.pattern)]
        let timer = Metrics.Timer(label: "graft_http_request_duration_seconds", dimensions: labels, factory: factory)
        return { request in
            let started = DispatchTime.now().uptimeNanoseconds
            var status = 500
            defer {
                timer.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds &- started))
                Counter(label: "graft_http_requests_total", dimensions: labels + [("status", String(status))],
                        factory: factory).increment()
            }
            do {
                let response = try handler(request)
                status = response.status.code
                return response
            } catch let error as HTTPResponseError {
                status = error.status.code
                throw error
            }
        }
    }

    private func registerRoutes(on router: Router) {
        router.get("/health") { _ in try Response.json(["status": "ok"]) }
        router.get("/ready") { _ in try readiness() }
        router.get("/metrics") { _ in try metricsText() }
        let openAPI = Array(OpenAPIDocument.make().text.utf8)
        router.get("/openapi.json") { _ in Response.bytes(openAPI, contentType: "application/json") }
        registerJobRoutes(on: router)
        registerCatalogRoutes(on: router)
        router.post("/predict", maxBodySize: 32 << 20) { request in try predict(request) }
    }

    private func readiness() throws -> Response {
        guard service.store.isReachable() else {
            return try Response.json(["status": "unavailable", "database": "unreachable"], status: .serviceUnavailable)
        }
        let baseModels = try service.store.listModels().filter { $0.kind == .base }.count
        struct Ready: Encodable {
            var status: String
            var database: String
            var baseModels: Int
            var workers: Int
        }
        return try Response.json(Ready(status: "ready", database: "ok", baseModels: baseModels,
                                       workers: service.configuration.workerCount))
    }

    /// Prometheus text: jobs by state, queue depth and training throughput (read from the store at scrape time),
    /// the prediction model cache, request counts and latencies per route, plus whatever the process recorded
    /// through swift-metrics into the same registry.
    private func metricsText() throws -> Response {
        let counts = try service.store.jobCountsByStatus()
        let jobs = MetricNameDescriptor(namespace: "graft", metricName: "jobs", unitName: "",
                                        helpText: "Jobs in each state.")
        for status in JobStatus.allCases {
            metricsRegistry.makeGauge(descriptor: jobs, labels: [("status", status.rawValue)])
                .set(Double(counts[status] ?? 0))
        }
        let depth = MetricNameDescriptor(namespace: "graft", metricName: "job_queue_depth", unitName: "",
                                         helpText: "Jobs waiting for a worker.")
        metricsRegistry.makeGauge(descriptor: depth).set(Double(counts[.queued] ?? 0))
        let throughput = MetricNameDescriptor(namespace: "graft", metricName: "training_images_per_second",
                                              unitName: "", helpText: "Images per second the running jobs train on.")
        metricsRegistry.makeGauge(descriptor: throughput).set(try service.store.runningImagesPerSecond())
        let cache = MetricNameDescriptor(namespace: "graft", metricName: "model_cache_bytes", unitName: "",
                                         helpText: "Memory held by the models loaded for predictions, every copy counted.")
        metricsRegistry.makeGauge(descriptor: cache).set(Double(service.predictor.cachedBytes))
        let loaded = MetricNameDescriptor(namespace: "graft", metricName: "models_loaded", unitName: "",
                                          helpText: "Models loaded for predictions.")
        metricsRegistry.makeGauge(descriptor: loaded).set(Double(service.predictor.cachedModelIDs.count))
        return Response.bytes(metricsRegistry.emitToBuffer(), contentType: "text/plain; version=0.0.4; charset=utf-8")
    }

    // MARK: - Shared helpers

    /// Throws 401 unless the request carries the configured bearer token.
    func authorize(_ request: Request) throws {
        guard let apiToken else { return }
        let expected = "Bearer " + apiToken
        guard let given = request.headers["Authorization"], Self.constantTimeEquals(given, expected) else {
            throw HTTPError(.unauthorized, code: "unauthorized",
                            message: "This route needs the header 'Authorization: Bearer <GRAFT_API_TOKEN>'.",
                            headers: ["WWW-Authenticate": "Bearer"])
        }
    }

    /// Compares without stopping at the first difference, so timing does not reveal the token.
    static func constantTimeEquals(_ left: String, _ right: String) -> Bool {
        let a = Array(left.utf8), b = Array(right.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }

    /// The body parsed as strict JSON; an empty body is `{}`. 415 for another content type, 400 for malformed JSON or
    /// a key given twice (which of the two a client meant cannot be known).
    static func jsonBody(_ request: Request) throws -> JSONValue {
        if request.body.count == 0 { return .object([:]) }
        let contentType = request.headers["Content-Type"]?.lowercased() ?? ""
        guard contentType.hasPrefix("application/json") else {
            throw HTTPError(.unsupportedMediaType, code: "unsupported_media_type",
                            message: "Send the body as application/json (got '\(contentType)').")
        }
        do {
            return try JSONValue.parse(Array(try request.body.data()))
        } catch let error as JSONParseError {
            if case .duplicateKey(let path) = error.kind {
                throw HTTPError(.badRequest, code: "duplicate_key", message: "The body is ambiguous: \(error).",
                                field: path)
            }
            throw HTTPError(.badRequest, code: "invalid_json", message: "The body is not valid JSON: \(error).")
        }
    }

    /// An integer query parameter within `range`, or `defaultValue` when absent; 422 naming it otherwise.
    static func integerQuery(_ request: Request, _ name: String, default defaultValue: Int,
                             range: ClosedRange<Int>) throws -> Int {
        guard let text = request.queryParameters[name] else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            throw ServiceError.invalid(field: name, message:
                "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound); got '\(text)'.")
        }
        return value
    }
}
