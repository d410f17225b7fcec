// Hostile POST /jobs bodies: every one is refused before a row is written, with the status and field that say why.
import Foundation
import Testing
@testable import GraftService

@Suite struct HostileJobRequestTests {
    /// A harness whose jobs may use 256 MiB (the default is half the machine), so that sizes a small machine
    /// cannot hold are refused on any machine the tests run on.
    static func harness() throws -> RouteHarness {
        var limits = JobLimits()
        limits.memoryBudgetBytes = 256 << 20
        limits.maxTotalSteps = 10_000
        limits.maxMetricRows = 2_000
        return try RouteHarness(jobLimits: limits)
    }

    /// (hyperparameters, the field the 422 names). Each value is a class of attack, not one payload: sizes past
    /// what the spec allows, sizes the allowed range holds but the machine does not, numbers that overflow Float32
    /// training, counts that would fill the database, and JSON types that are not the field's.
    @Test(arguments: [
        (#"{"head": "mlp", "head_hidden": 1000000000}"#, "hyperparameters.head_hidden"),
        (#"{"head": "mlp", "head_hidden": 65536, "batch_size": 4096, "freeze": "none"}"#, "hyperparameters.batch_size"),
        (#"{"batch_size": 100000000}"#, "hyperparameters.batch_size"),
        (#"{"batch_size": 4096, "freeze": "none", "feature_cache": false}"#, "hyperparameters.batch_size"),
        (#"{"learning_rate": 1e300}"#, "hyperparameters.learning_rate"),
        (#"{"learning_rate": 11}"#, "hyperparameters.learning_rate"),
        (#"{"learning_rate": -0.1}"#, "hyperparameters.learning_rate"),
        (#"{"learning_rate": 1e-300}"#, "hyperparameters.learning_rate"),
        (#"{"weight_decay": 1e30}"#, "hyperparameters.weight_decay"),
        (#"{"momentum": 1}"#, "hyperparameters.momentum"),
        (#"{"head": "mlp", "head_dropout": 1}"#, "hyperparameters.head_dropout"),
        (#"{"epochs": 1e9}"#, "hyperparameters.epochs"),
        (#"{"epochs": 1e300}"#, "hyperparameters.epochs"),
        (#"{"epochs": 9223372036854775807}"#, "hyperparameters.epochs"),
        (#"{"epochs": 10000, "batch_size": 1}"#, "hyperparameters.epochs"),
        (#"{"epochs": 500}"#, "hyperparameters.epochs"),
        (#"{"early_stopping_patience": 1e9}"#, "hyperparameters.early_stopping_patience"),
        (#"{"time_limit_seconds": 1e300}"#, "hyperparameters.time_limit_seconds"),
        (#"{"top_k": 1000000000}"#, "hyperparameters.top_k"),
        (#"{"augmented_views": 1000}"#, "hyperparameters.augmented_views"),
        (#"{"top_k": "5"}"#, "hyperparameters.top_k"),
        (#"{"top_k": true}"#, "hyperparameters.top_k"),
        (#"{"epochs": "3"}"#, "hyperparameters.epochs"),
        (#"{"epochs": [3]}"#, "hyperparameters.epochs"),
        (#"{"feature_cache": 1}"#, "hyperparameters.feature_cache"),
        (#"{"feature_cache": "true"}"#, "hyperparameters.feature_cache"),
        (#"{"seed": -1}"#, "hyperparameters.seed"),
        (#"{"head": 1}"#, "hyperparameters.head"),
        (#"{"freeze": {"until": "layer1_relu1", "trainable_layers": 2}}"#, "hyperparameters.freeze"),
        (#"{"freeze": {"untill": "layer1_relu1"}}"#, "hyperparameters.freeze"),
        (#"{"freeze": {}}"#, "hyperparameters.freeze"),
        (#"{"freeze": {"until": 3}}"#, "hyperparameters.freeze.until"),
        (#"{"freeze": {"trainable_layers": 1000000000000}}"#, "hyperparameters.freeze.trainable_layers"),
        (#"{"freeze": "everything"}"#, "hyperparameters.freeze"),
    ])
    func hostileHyperparametersAre422WithTheirField(hyperparameters: String, field: String) throws {
        let harness = try Self.harness()
        let response = harness.call(.post, "/jobs", json: #"{"hyperparameters": \#(hyperparameters)}"#)
        #expect(response.status == 422, "\(hyperparameters): \(response.json)")
        #expect(response.errorField == field, "\(hyperparameters): \(response.json)")
        let message = (response.json["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(message.contains(field), "the message names the field: \(message)")
        #expect(try harness.service.store.listJobs().isEmpty, "no row for a refused request")
    }

    /// The limits' messages say which limit and what to change.
    @Test func limitMessagesNameTheLimit() throws {
        let harness = try Self.harness()
        func message(_ hyperparameters: String) -> String {
            let response = harness.call(.post, "/jobs", json: #"{"hyperparameters": \#(hyperparameters)}"#)
            return (response.json["error"] as? [String: Any])?["message"] as? String ?? ""
        }
        let memory = message(#"{"head": "mlp", "head_hidden": 65536, "batch_size": 4096, "freeze": "none"}"#)
        #expect(memory.contains("256 MiB") && memory.contains("--job-memory-mib"), "\(memory)")
        let steps = message(#"{"epochs": 10000, "batch_size": 1}"#)
        #expect(steps.contains("10000 training steps"), "\(steps)")
        let rows = message(#"{"epochs": 500}"#)
        #expect(rows.contains("2000 metric rows"), "\(rows)")
        let rate = message(#"{"learning_rate": 1e300}"#)
        #expect(rate.contains("1e-10 to 10"), "\(rate)")
    }

    /// Sizes inside every limit are accepted: the limits refuse what cannot run, not what is merely large.
    @Test func sizesWithinTheLimitsAreAccepted() throws {
        let harness = try Self.harness()
        // (`auto` must fit its deepest candidate, `none`; a frozen backbone needs less.)
        for hyperparameters in [#"{"head": "mlp", "head_hidden": 4096, "batch_size": 256, "freeze": "backbone"}"#,
                                // 60 epochs of the probe's and the run's epoch rows: 840 of the 2000 rows
                                #"{"epochs": 60, "learning_rate": 10, "freeze": {"trainable_layers": 2}}"#] {
            let response = harness.call(.post, "/jobs", json: #"{"hyperparameters": \#(hyperparameters)}"#)
            #expect(response.status == 202, "\(hyperparameters): \(response.json)")
        }
    }

    /// A key given twice is a 400 naming it, wherever it is; no row is written.
    @Test(arguments: [
        (#"{"dataset": "ds-1", "dataset": "ds-2"}"#, "dataset"),
        (#"{"hyperparameters": {"epochs": 3, "epochs": 300}}"#, "hyperparameters.epochs"),
        (#"{"hyperparameters": {"freeze": {"until": "a", "until": "b"}}}"#, "hyperparameters.freeze.until"),
        (#"{"hyperparameters": {"seed": 1}, "hyperparameters": {"seed": 2}}"#, "hyperparameters"),
    ])
    func duplicateKeysAre400NamingTheKey(body: String, key: String) throws {
        let harness = try Self.harness()
        let response = harness.call(.post, "/jobs", json: body)
        #expect(response.status == 400 && response.errorCode == "duplicate_key", "\(body): \(response.json)")
        #expect(response.errorField == key, "\(body): \(response.json)")
        let message = (response.json["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(message.contains("'\(key)'"), "\(message)")
        #expect(try harness.service.store.listJobs().isEmpty)
    }

    /// Bodies that are not JSON, or JSON nested to exhaust a recursive parser, are 400s; the service stays up.
    @Test func malformedAndDeepBodiesAre400() throws {
        let harness = try Self.harness()
        for body in [String(repeating: "[", count: 60_000), String(repeating: "{\"a\":", count: 20_000) + "1",
                     #"{"epochs": 1e999}"#, "{\"a\": \"\u{1}\"}", #"{"a": 01}"#, #"{"a": 1,}"#, "{'a': 1}"] {
            let response = harness.call(.post, "/jobs", json: body)
            #expect(response.status == 400 && response.errorCode == "invalid_json", "\(body.prefix(40))")
        }
        #expect(harness.call(.get, "/health").status == 200)
    }
}

extension HostileJobRequestTests {
    /// The OpenAPI document states the same ranges the spec enforces.
    @Test func openAPIStatesTheHyperparameterRanges() throws {
        let document = try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.make().text.utf8))
            as? [String: Any])
        let schemas = (document["components"] as? [String: Any])?["schemas"] as? [String: Any]
        let request = (schemas?["JobRequest"] as? [String: Any])?["properties"] as? [String: Any]
        let hyper = (request?["hyperparameters"] as? [String: Any])?["properties"] as? [String: Any]
        let epochs = try #require(hyper?["epochs"] as? [String: Any])
        #expect(epochs["maximum"] as? Int == 10_000 && epochs["type"] as? String == "integer", "\(epochs)")
        let rate = try #require(hyper?["learning_rate"] as? [String: Any])
        #expect(rate["maximum"] as? Int == 10 && (rate["minimum"] as? Double).map { $0 > 0 } == true, "\(rate)")
    }
}
