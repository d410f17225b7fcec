// Per-route counters without a lock: exact counts under concurrent requests, buckets and the Prometheus text.
import Foundation
import Testing
@testable import GraftService

@Suite struct RouteMetricsTests {
    @Test func concurrentRecordsAreAllCounted() {
        let metrics = RouteMetrics(method: "GET", pattern: "/health")
        let threads = 8, perThread = 20_000
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            for index in 0..<perThread {
                metrics.record(status: index % 4 == 0 ? 404 : 200, nanoseconds: (thread + 1) * 1_000_000)
            }
        }
        #expect(metrics.count(status: 200) == threads * perThread * 3 / 4)
        #expect(metrics.count(status: 404) == threads * perThread / 4)
        let text = RouteMetrics.render([metrics])
        let labels = #"method="GET",route="/health""#
        #expect(MetricsRouteTests.value(of: "graft_http_requests_total{\(labels),status=\"200\"}", in: text)
                    == Double(threads * perThread * 3 / 4))
        #expect(MetricsRouteTests.value(of: "graft_http_request_duration_seconds_count{\(labels)}", in: text)
                    == Double(threads * perThread))
        // 1–5 ms fall in the first bucket (≤ 5 ms), 6–8 ms in the second (≤ 10 ms).
        #expect(MetricsRouteTests.value(of: "graft_http_request_duration_seconds_bucket{\(labels),le=\"0.005\"}",
                                        in: text) == Double(5 * perThread))
        #expect(MetricsRouteTests.value(of: "graft_http_request_duration_seconds_bucket{\(labels),le=\"0.01\"}",
                                        in: text) == Double(threads * perThread))
        let sum = MetricsRouteTests.value(of: "graft_http_request_duration_seconds_sum{\(labels)}", in: text) ?? 0
        #expect(abs(sum - Double(perThread) * 36e-3) < 1e-6)
        #expect(text.hasPrefix("# TYPE graft_http_requests_total counter\n"))
        #expect(text.contains("# TYPE graft_http_request_duration_seconds histogram\n"))
    }

    @Test func anUnusedRouteShowsNoSeriesAndOddStatusesCountAs500() {
        let unused = RouteMetrics(method: "POST", pattern: "/jobs")
        #expect(RouteMetrics.render([unused]).isEmpty)
        unused.record(status: 999, nanoseconds: 20_000_000_000)
        #expect(unused.count(status: 500) == 1)
        let text = RouteMetrics.render([unused])
        #expect(MetricsRouteTests.value(of: #"graft_http_request_duration_seconds_bucket{method="POST",route="/jobs",le="10.0"}"#,
                                        in: text) == 0)
        #expect(MetricsRouteTests.value(of: #"graft_http_request_duration_seconds_bucket{method="POST",route="/jobs",le="+Inf"}"#,
                                        in: text) == 1)
    }
}
