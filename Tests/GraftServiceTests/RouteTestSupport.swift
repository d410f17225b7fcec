// An in-process client for the service's routes: matches the router, calls the handler, renders errors.
import Foundation
import HTTPServer
import Logging
@testable import GraftService

/// A response as a test sees it.
struct TestResponse {
    var status: Int
    var headers: HTTPHeaders
    var bytes: [UInt8]

    /// The body parsed as a JSON object (empty when it is not one).
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] ?? [:]
    }

    /// `error.code` of an error body.
    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    /// `error.field` of an error body.
    var errorField: String? { (json["error"] as? [String: Any])?["field"] as? String }
}

/// A service in a temporary folder with the routes registered on a router, and a client that calls them.
final class RouteHarness {
    let directory: TemporaryDirectory
    let service: Service
    let router = Router()
    let runner: JobRunner

    init(apiToken: String? = nil, publicPredict: Bool = false, runner: JobRunner = CountingRunner(),
         withDatasetRoot: Bool = false, jobLimits: JobLimits = JobLimits()) throws {
        directory = try TemporaryDirectory()
        var configuration = ServiceConfiguration(dataDirectory: directory.path("var"),
                                                 resourcesRoot: try ServiceTests.makeResources(in: directory))
        configuration.heartbeatInterval = 0.05
        configuration.jobLimits = jobLimits
        if withDatasetRoot {
            configuration.datasetRoot = directory.path("data-root")
            try FileManager.default.createDirectory(at: directory.path("data-root"), withIntermediateDirectories: true)
        }
        self.runner = runner
        service = try Service(configuration: configuration, runner: runner, environment: [:],
                              logger: ServiceTests.quietLogger())
        ServiceRoutes(service: service, apiToken: apiToken, publicPredict: publicPredict).register(on: router)
        try TestSupport.seedCatalog(service.store)
    }

    /// Calls the route for `method path` as the server would: 404/405 for no route, errors rendered as JSON.
    func call(_ method: HTTPMethod, _ target: String, headers: HTTPHeaders = [:], json: String? = nil,
              bytes: Data? = nil) -> TestResponse {
        var headers = headers
        if json != nil && !headers.contains("Content-Type") { headers.add(name: "Content-Type", value: "application/json") }
        let body = bytes.map { RequestBody.bytes($0) } ?? json.map { RequestBody.bytes(Data($0.utf8)) } ?? .empty
        let path = String(target.split(separator: "?", maxSplits: 1).first ?? "")
        switch router.match(method: method, path: path) {
        case .notFound:
            return TestResponse(status: 404, headers: [:], bytes: [])
        case .methodNotAllowed:
            return TestResponse(status: 405, headers: [:], bytes: [])
        case .found(let route, let parameters):
            let request = Request(method: method, target: target, headers: headers, body: body,
                                  pathParameters: parameters)
            let response: Response
            do {
                response = try route.handler(request)
            } catch let error as HTTPResponseError {
                response = error.response
            } catch {
                return TestResponse(status: 500, headers: [:], bytes: Array("\(error)".utf8))
            }
            guard case .bytes(let bytes) = response.body else {
                return TestResponse(status: response.status.code, headers: response.headers, bytes: [])
            }
            return TestResponse(status: response.status.code, headers: response.headers, bytes: bytes)
        }
    }
}
