// GRAFT_API_TOKEN guards every route but the probes and the OpenAPI document: in process, over a real socket
// (refused before the body is read), in the OpenAPI document, and on the command line.
import Foundation
import NeuralNetwork
import HTTPServer
import Logging
import Testing
@testable import GraftService

@Suite struct TokenGuardTests {
    static let token = "s3cret-token"

    /// A concrete target for a route pattern (`/jobs/:id` → `/jobs/nope`): ids that do not exist, so that no
    /// delete removes anything and no event stream runs.
    static func target(_ route: Router.Route) -> String {
        "/" + route.pattern.split(separator: "/").map { $0.hasPrefix(":") ? "nope" : String($0) }.joined(separator: "/")
    }

    @Test func everyGuardedRouteIs401WithoutTheTokenAndServedWithIt() throws {
        let harness = try RouteHarness(apiToken: Self.token)
        let guarded = harness.router.routes.filter { !ServiceRoutes.publicPatterns.contains($0.pattern) }
        #expect(guarded.count >= 14, "jobs, datasets, models, predict and metrics are all guarded")
        let wrong: [HTTPHeaders] = [[:], ["Authorization": "Bearer wrong"], ["Authorization": "Bearer s3cret-toke"],
                                    ["Authorization": "Bearer s3cret-token2"], ["Authorization": "Basic czNjcmV0"],
                                    ["Authorization": Self.token], ["Authorization": "Bearer"]]
        for route in guarded {
            let target = Self.target(route)
            for headers in wrong {
                // Through the handler (as RouteHarness calls it) and through the router's admission check.
                let handled = harness.call(route.method, target, headers: headers)
                #expect(handled.status == 401 && handled.errorCode == "unauthorized", "\(route.method) \(target)")
                #expect(handled.headers["WWW-Authenticate"]?.hasPrefix("Bearer") == true)
                let request = Request(method: route.method, target: target, headers: headers)
                #expect(harness.router.respond(to: request).status.code == 401, "\(route.method) \(target) admission")
            }
            for scheme in ["Bearer", "bearer", "BEARER"] {
                let served = harness.call(route.method, target, headers: ["Authorization": "\(scheme) \(Self.token)"])
                #expect(served.status != 401, "\(route.method) \(target) with the token: \(served.status)")
            }
        }
        for route in harness.router.routes where ServiceRoutes.publicPatterns.contains(route.pattern) {
            #expect(harness.call(route.method, route.pattern).status == 200, "\(route.pattern) stays public")
        }
    }

    @Test func predictIsPublicOnlyWithTheFlag() throws {
        let guarded = try RouteHarness(apiToken: Self.token)
        #expect(guarded.call(.post, "/predict?model=base-tiny").status == 401)
        let open = try RouteHarness(apiToken: Self.token, publicPredict: true)
        let predicted = open.call(.post, "/predict?model=base-tiny", headers: ["Content-Type": "image/png"],
                                  bytes: Data("not a png".utf8))
        #expect(predicted.status != 401 && predicted.status >= 400, "reaches the handler: \(predicted.status)")
        #expect(open.call(.get, "/models").status == 401, "only /predict is opened")
        #expect(open.call(.get, "/metrics").status == 401)
    }

    @Test func noTokenLeavesEveryRouteOpen() throws {
        let harness = try RouteHarness()
        for route in harness.router.routes where route.method == .get && !route.pattern.contains(":") {
            #expect(harness.call(.get, route.pattern).status == 200, "\(route.pattern)")
        }
    }

    @Test func tokensCompareDigestToDigest() {
        let digest = { (text: String) -> [UInt8] in
            var hasher = SHA256()
            hasher.update(Array(text.utf8))
            return hasher.finalize()
        }
        #expect(ServiceRoutes.constantTimeEquals(digest("abc"), digest("abc")))
        #expect(!ServiceRoutes.constantTimeEquals(digest("abc"), digest("abd")))
        #expect(!ServiceRoutes.constantTimeEquals([1, 2], [1, 2, 3]))
        #expect(ServiceRoutes.bearerCredentials("Bearer  abc") == "abc")
        #expect(ServiceRoutes.bearerCredentials("Token abc") == nil)
        #expect(ServiceRoutes.bearerCredentials("Bearerabc") == nil)
    }

    @Test func theOpenAPIDocumentSaysWhichOperationsNeedTheToken() throws {
        let harness = try RouteHarness()
        let paths = try #require(harness.call(.get, "/openapi.json").json["paths"] as? [String: [String: [String: Any]]])
        for (path, operations) in paths {
            for (method, operation) in operations {
                let security = operation["security"] as? [[String: Any]]
                let responses = operation["responses"] as? [String: Any] ?? [:]
                if ServiceRoutes.publicPatterns.contains(path) {
                    #expect(security == nil && responses["401"] == nil, "\(method) \(path) is public")
                } else {
                    #expect(security?.contains { $0["bearer"] != nil } == true, "\(method) \(path) names the token")
                    #expect(responses["401"] != nil, "\(method) \(path) documents its 401")
                }
            }
        }
    }

    /// Over a real socket the token is checked from the head: an upload without it is answered 401 without its
    /// body being spooled or a dataset being staged.
    @Test func anUploadWithoutTheTokenIsRefusedBeforeItsBodyIsRead() throws {
        let harness = try RouteHarness(apiToken: Self.token)
        let spool = harness.directory.path("spool")
        try FileManager.default.createDirectory(at: spool, withIntermediateDirectories: true)
        var configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.temporaryDirectory = spool
        configuration.inMemoryBodyLimit = 1024
        var logger = Logger(label: "graft.http.test")
        logger.logLevel = .error
        let server = HTTPServer(configuration: configuration, router: harness.router, logger: logger)
        try server.start()
        defer { server.shutdown(gracePeriod: 1) }
        let base = "http://127.0.0.1:\(server.port)"
        let upload = harness.directory.path("big.zip")
        try Data(count: 8 << 20).write(to: upload)
        let status = { (arguments: [String]) throws -> String in
            try LiveServiceTests.curl(["--output", "/dev/null", "--write-out", "%{http_code}"] + arguments)
        }
        // curl waits for the 100 Continue that a server reading the body would send: refused from the head, it
        // gets the 401 instead and uploads nothing.
        let refused = try LiveServiceTests.curl([
            "--output", "/dev/null", "--write-out", "%{http_code} %{size_upload}", "-H", "Expect: 100-continue",
            "--expect100-timeout", "30", "-H", "Content-Type: application/zip", "--data-binary", "@" + upload.path,
            base + "/datasets"])
        #expect(refused == "401 0", "status and bytes uploaded: \(refused)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: spool.path).isEmpty, "nothing spooled")
        #expect(try harness.service.store.listDatasets().count == 1, "only the seeded dataset")
        #expect(try status([base + "/jobs"]) == "401")
        #expect(try status([base + "/metrics"]) == "401")
        #expect(try status(["-H", "Authorization: Bearer \(Self.token)", base + "/jobs"]) == "200")
        #expect(try status(["-H", "Authorization: Bearer \(Self.token)", base + "/metrics"]) == "200")
        #expect(try status([base + "/health"]) == "200")
        #expect(try status([base + "/ready"]) == "200")
        #expect(try status([base + "/openapi.json"]) == "200")
    }

    @Test(.enabled(if: GraftProcess.executable != nil, "no 'graft' executable beside the test bundle"))
    func serveHelpNamesTheTokenAndTheConnectionFlags() throws {
        let directory = try TemporaryDirectory()
        let help = try CommandLineTests.graft(["serve", "--help"], in: directory.url)
        for flag in ["--public-predict", "--max-connections ", "--max-connections-per-client",
                     "--min-body-kib-per-second", "GRAFT_API_TOKEN"] {
            #expect(help.output.contains(flag), "\(flag) missing from: \(help.output)")
        }
        let bad = try CommandLineTests.graft(["serve", "--max-connections-per-client", "0"], in: directory.url)
        #expect(bad.status != 0 && bad.output.contains("--max-connections-per-client must be at least 1"), "\(bad.output)")
    }
}
