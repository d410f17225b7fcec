// The OpenAPI document stays true: every route is documented, every documented operation exists, and the
// schemas name exactly the fields the live bodies have.
import Foundation
import HTTPServer
import Testing
@testable import GraftService

@Suite struct OpenAPITests {
    static func document(_ harness: RouteHarness) throws -> [String: Any] {
        let response = harness.call(.get, "/openapi.json")
        #expect(response.status == 200)
        return response.json
    }

    @Test func pathsAndRoutesAgree() throws {
        let harness = try RouteHarness()
        let document = try Self.document(harness)
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var documented: Set<String> = []
        for (path, operations) in paths {
            for (method, operation) in operations {
                documented.insert("\(method.uppercased()) \(path)")
                let responses = (operation as? [String: Any])?["responses"] as? [String: [String: Any]] ?? [:]
                #expect(!responses.isEmpty, "\(method) \(path) documents no response")
                for (code, response) in responses {
                    #expect(response["description"] is String, "\(method) \(path) \(code) has no description")
                }
            }
        }
        let routed = Set(harness.router.routes.map { route in
            let path = route.pattern.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
            return "\(route.method.rawValue) /" + path.joined(separator: "/")
        })
        #expect(documented.subtracting(routed).isEmpty, "documented but not routed")
        #expect(routed.subtracting(documented).isEmpty, "routed but not documented")
    }

    /// Property names of a component schema.
    static func properties(_ document: [String: Any], _ schema: String) -> Set<String> {
        let schemas = (document["components"] as? [String: Any])?["schemas"] as? [String: Any]
        let properties = (schemas?[schema] as? [String: Any])?["properties"] as? [String: Any]
        return Set(properties?.keys.map { $0 } ?? [])
    }

    @Test func schemasNameTheFieldsOfLiveBodies() throws {
        let harness = try RouteHarness()
        let document = try Self.document(harness)
        let job = harness.call(.post, "/jobs", json: #"{"hyperparameters": {"epochs": 1}}"#).json
        // Keys whose value is null are left out of bodies; these are the nullable ones.
        let nullable: Set<String> = ["error", "result_model_id", "started_at", "finished_at", "parent_model_id",
                                     "next_offset", "eta_seconds", "freeze_search"]
        let checks: [(String, [String: Any])] = [
            ("Job", job),
            ("Readiness", harness.call(.get, "/ready").json),
            ("Model", (harness.call(.get, "/models").json["models"] as? [[String: Any]])?.first ?? [:]),
            ("Dataset", harness.call(.get, "/datasets/ds-1").json),
            ("JobPage", harness.call(.get, "/jobs").json),
        ]
        for (schema, body) in checks {
            let keys = Set(body.keys)
            let documented = Self.properties(document, schema)
            #expect(!keys.isEmpty, "\(schema): empty body")
            #expect(keys.isSubset(of: documented), "\(schema) lacks \(keys.subtracting(documented))")
            #expect(documented.subtracting(keys).isSubset(of: nullable),
                    "\(schema) documents \(documented.subtracting(keys).subtracting(nullable)), absent from bodies")
        }
        let progress = job["progress"] as? [String: Any] ?? [:]
        #expect(Set(progress.keys).union(["eta_seconds"]) == ["epoch", "total_epochs", "step", "total_steps",
                                                             "fraction_done", "eta_seconds"])
        let hyper = Set(((job["spec"] as? [String: Any])?["hyperparameters"] as? [String: Any] ?? [:]).keys)
        let schemas = (document["components"] as? [String: Any])?["schemas"] as? [String: Any]
        let request = (schemas?["JobRequest"] as? [String: Any])?["properties"] as? [String: Any]
        let documentedHyper = ((request?["hyperparameters"] as? [String: Any])?["properties"] as? [String: Any])?.keys
        #expect(hyper == Set(documentedHyper.map { Array($0) } ?? []))
    }
}
