// Per-route request counts and latencies recorded without a lock: relaxed atomic increments on the request
// thread, read and rendered in Prometheus text only when /metrics is scraped.
import Atomics
import Foundation

/// `graft_http_requests_total{method,route,status}` and the `graft_http_request_duration_seconds{method,route}`
/// histogram of one route.
///
/// Every counter exists from the start (one per status code 100–599, one per latency bucket), so recording is
/// two or three relaxed atomic adds: no registry lookup, no lock and no allocation per request, which
/// swift-prometheus's `Counter(label:dimensions:)` per status and its locked histogram cost on every request of
/// the busiest route. A scrape reads the counters one by one, so it may see a request's count before its
/// latency; Prometheus tolerates that skew between series.
final class RouteMetrics: Sendable {
    /// Upper bounds of the latency buckets in nanoseconds: swift-prometheus's defaults for a Timer (5 ms to 10 s),
    /// so dashboards built on the earlier series keep working.
    static let bucketBounds: [Int] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000].map { $0 * 1_000_000 }
    static let statusRange = 100..<600

    let method: String
    let pattern: String
    private let statuses: [ManagedAtomic<Int>]
    /// Observations per bucket (not cumulative), the last one above every bound.
    private let buckets: [ManagedAtomic<Int>]
    private let totalNanoseconds = ManagedAtomic<Int>(0)

    init(method: String, pattern: String) {
        self.method = method
        self.pattern = pattern
        statuses = Self.statusRange.map { _ in ManagedAtomic(0) }
        buckets = (0...Self.bucketBounds.count).map { _ in ManagedAtomic(0) }
    }

    /// Counts one answered request. A status outside 100–599 counts as 500, as the server would answer it.
    func record(status: Int, nanoseconds: Int) {
        let index = Self.statusRange.contains(status) ? status - Self.statusRange.lowerBound : 400
        statuses[index].wrappingIncrement(ordering: .relaxed)
        let bucket = Self.bucketBounds.firstIndex { nanoseconds <= $0 } ?? Self.bucketBounds.count
        buckets[bucket].wrappingIncrement(ordering: .relaxed)
        totalNanoseconds.wrappingIncrement(by: max(0, nanoseconds), ordering: .relaxed)
    }

    /// How many requests this route answered with `status`.
    func count(status: Int) -> Int {
        guard Self.statusRange.contains(status) else { return 0 }
        return statuses[status - Self.statusRange.lowerBound].load(ordering: .relaxed)
    }

    /// Appends this route's series in Prometheus text format: a counter line per status seen, and the histogram
    /// once the route has answered (the same series swift-prometheus printed, created at first use).
    func render(counters: inout String, histogram: inout String) {
        let labels = "method=\"\(Self.escaped(method))\",route=\"\(Self.escaped(pattern))\""
        for (offset, counter) in statuses.enumerated() {
            let value = counter.load(ordering: .relaxed)
            guard value > 0 else { continue }
            counters += "graft_http_requests_total{\(labels),status=\"\(offset + Self.statusRange.lowerBound)\"} \(value)\n"
        }
        let perBucket = buckets.map { $0.load(ordering: .relaxed) }
        let count = perBucket.reduce(0, +)
        guard count > 0 else { return }
        var cumulative = 0
        for (index, bound) in Self.bucketBounds.enumerated() {
            cumulative += perBucket[index]
            histogram += "graft_http_request_duration_seconds_bucket{\(labels),le=\"\(Double(bound) / 1e9)\"} \(cumulative)\n"
        }
        histogram += "graft_http_request_duration_seconds_bucket{\(labels),le=\"+Inf\"} \(count)\n"
        histogram += "graft_http_request_duration_seconds_sum{\(labels)} "
            + "\(Double(totalNanoseconds.load(ordering: .relaxed)) / 1e9)\n"
        histogram += "graft_http_request_duration_seconds_count{\(labels)} \(count)\n"
    }

    /// Prometheus label values escape backslash, double quote and line feed.
    static func escaped(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    /// Both metric families of every route, with their TYPE lines: what /metrics appends to the registry's text.
    static func render(_ routes: [RouteMetrics]) -> String {
        var counters = "", histogram = ""
        for route in routes { route.render(counters: &counters, histogram: &histogram) }
        var text = ""
        if !counters.isEmpty { text += "# TYPE graft_http_requests_total counter\n" + counters }
        if !histogram.isEmpty { text += "# TYPE graft_http_request_duration_seconds histogram\n" + histogram }
        return text
    }
}

/// The routes' metrics of one `ServiceRoutes`, filled while routes register and read at each scrape.
final class RouteMetricsTable: @unchecked Sendable {
    private let lock = NSLock()
    private var routes: [RouteMetrics] = []

    func add(_ route: RouteMetrics) {
        lock.lock()
        routes.append(route)
        lock.unlock()
    }

    var all: [RouteMetrics] {
        lock.lock()
        defer { lock.unlock() }
        return routes
    }
}
