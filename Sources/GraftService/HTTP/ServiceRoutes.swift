// Registers the service's HTTP routes on a Router: health, readiness, jobs, models and datasets.
import Foundation
import NeuralNetwork
import HTTPServer
import Prometheus

/// The routes of `graft serve`, as closures over a `Service`.
///
/// When a token is configured (`GRAFT_API_TOKEN`), every route but `publicPatterns` requires
/// `Authorization: Bearer <token>` — reads included, since jobs, datasets and models are the user's data, and
/// `/metrics` too (its counters tell who trains what and how much); `POST /predict` is public only with
/// `publicPredict`. The token is checked from the request head, before any body is read.
public struct ServiceRoutes: Sendable {
    public let service: Service
    /// The bearer token the routes require; nil leaves them open (the server binds 127.0.0.1 by default).
    public let apiToken: String?
    /// Whether `POST /predict` is served without the token (a public classifier in front of private training).
    public let publicPredict: Bool
    /// SHA-256 of the token: credentials are compared digest to digest, in time independent of the token.
    private let expectedDigest: [UInt8]?
    /// The base model used when POST /jobs names none; nil picks the first base model.
    public let defaultBaseModelID: String?
    /// What GET /metrics prints. Bootstrap swift-metrics with `PrometheusMetricsFactory(registry:)` on the same
    /// registry so the workers' counters and timers appear too.
    public let metricsRegistry: PrometheusCollectorRegistry
    /// The request counts and latencies of the routes registered by `register(on:)`.
    let routeMetrics = RouteMetricsTable()

    public init(service: Service, apiToken: String? = nil, publicPredict: Bool = false,
                defaultBaseModelID: String? = nil,
                metricsRegistry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.service = service
        self.apiToken = apiToken.flatMap { $0.isEmpty ? nil : $0 }
        self.publicPredict = publicPredict
        expectedDigest = self.apiToken.map { Self.digest($0) }
        self.defaultBaseModelID = defaultBaseModelID
        self.metricsRegistry = metricsRegistry
    }

    /// The routes served without the token: probes for load balancers and orchestrators, and the API's
    /// description (the same for every installation, it tells clients how to authenticate).
    public static let publicPatterns = Set(["/health", "/ready", "/openapi.json"]).union(v2PublicPatterns)

    /// Whether `route` needs the token on this server.
    public func requiresToken(_ route: Router.Route) -> Bool {
        guard apiToken != nil, !Self.publicPatterns.contains(route.pattern) else { return false }
        return !(publicPredict && ((route.method == .post && route.pattern == "/predict") || Self.isV2ModelRoute(route)))
    }

    /// Adds every route to `router`, each counted and timed per route pattern (`RouteMetrics`, shown by
    /// GET /metrics), and sets the router's admission check to the token (replacing any other), so a request without
    /// it is refused from its head: a 2 GiB upload is not read to find out it was not allowed.
    public func register(on router: Router) {
        let plain = Router()
        registerRoutes(on: plain)
        for route in plain.routes {
            var handler = route.handler
            if requiresToken(route) {
                // Checked again in the handler, for callers that run handlers without the router's admission.
                let inner = handler
                handler = { [self] request in
                    if let refusal = refusal(for: request.headers) { throw refusal }
                    return try inner(request)
                }
            }
            let metrics = RouteMetrics(method: route.method.rawValue, pattern: route.pattern)
            routeMetrics.add(metrics)
            router.add(route.method, route.pattern, maxBodySize: route.maxBodySize,
                       handler: Self.instrumented(handler, metrics))
        }
        router.admission = { [self] head, route in requiresToken(route) ? refusal(for: head.headers) : nil }
    }

    /// `handler`, recording each answer's status and latency into `metrics`. Labels use the pattern (`/jobs/:id`),
    /// not the path, so the number of series stays bounded.
    static func instrumented(_ handler: @escaping Handler, _ metrics: RouteMetrics) -> Handler {
        return { request in
            let started = DispatchTime.now().uptimeNanoseconds
            var status = 500
            defer {
                metrics.record(status: status, nanoseconds: Int(truncatingIfNeeded: DispatchTime.now().uptimeNanoseconds &- started))
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
        // Encoded once: the probe is the route load balancers call most.
        let healthy = Response.json(Data(#"{"status":"ok"}"#.utf8))
        router.get("/health") { _ in healthy }
        router.get("/ready") { _ in try readiness() }
        router.get("/metrics") { _ in try metricsText() }
        let openAPI = Array(OpenAPIDocument.make().text.utf8)
        router.get("/openapi.json") { _ in Response.bytes(openAPI, contentType: "application/json") }
        registerJobRoutes(on: router)
        registerCatalogRoutes(on: router)
        router.post("/predict", maxBodySize: 32 << 20) { request in try predict(request) }
        registerV2Routes(on: router)
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
        return Response.bytes(metricsRegistry.emitToBuffer() + Array(RouteMetrics.render(routeMetrics.all).utf8),
                              contentType: "text/plain; version=0.0.4; charset=utf-8")
    }

    // MARK: - Shared helpers

    /// The 401 for headers without the configured bearer token; nil when they carry it (or no token is set).
    func refusal(for headers: HTTPHeaders) -> HTTPError? {
        guard let expectedDigest else { return nil }
        if let credentials = headers["Authorization"].flatMap(Self.bearerCredentials),
           Self.constantTimeEquals(Self.digest(credentials), expectedDigest) {
            return nil
        }
        let message = headers["Authorization"] == nil
            ? "This route needs the header 'Authorization: Bearer <GRAFT_API_TOKEN>'."
            : "The Authorization header does not carry this server's token; send 'Authorization: Bearer <GRAFT_API_TOKEN>'."
        return HTTPError(.unauthorized, code: "unauthorized", message: message,
                         headers: ["WWW-Authenticate": #"Bearer realm="graft""#])
    }

    /// The credentials of `Bearer <credentials>` (the scheme is case-insensitive, RFC 9110 §11.1); nil for
    /// another scheme.
    static func bearerCredentials(_ value: String) -> Substring? {
        guard let space = value.firstIndex(of: " "), value[..<space].lowercased() == "bearer" else { return nil }
        return value[space...].drop { $0 == " " }
    }

    private static func digest<Text: StringProtocol>(_ text: Text) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(Array(text.utf8))
        return hasher.finalize()
    }

    /// Compares without stopping at the first difference, so timing does not reveal how much of a guess was
    /// right (the inputs are digests, so their length says nothing about the token's either).
    static func constantTimeEquals(_ left: [UInt8], _ right: [UInt8]) -> Bool {
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in left.indices { difference |= left[index] ^ right[index] }
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
