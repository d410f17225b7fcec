// The freeze search's report over HTTP: `GET /jobs/:id` and `GET /jobs/:id/metrics` show each candidate, the choice
// and why, as the runner records them.
import FineTuning
import Foundation
import HTTPServer
import Testing
@testable import GraftService

@Suite struct FreezeSearchRouteTests {
    static let report = FreezeSearchReport(
        candidates: [
            FreezeCandidateReport(policy: .backbone, trainableParameterCount: 325, rounds: 0, epochs: 30,
                                  validationAccuracy: 0.85, validationLoss: 0.41, seconds: 0.4, outcome: .outscored),
            FreezeCandidateReport(policy: .until("layer2_relu2"), trainableParameterCount: 37_573, rounds: 2, epochs: 7,
                                  validationAccuracy: 0.93, validationLoss: 0.22, seconds: 0.9, outcome: .chosen),
            FreezeCandidateReport(policy: .none, trainableParameterCount: 78_000, rounds: 1, epochs: 5,
                                  validationAccuracy: nil, validationLoss: nil, seconds: 0.3, outcome: .diverged,
                                  note: "the training loss rose 3 epochs in a row"),
        ],
        chosen: .until("layer2_relu2"), reason: "until:layer2_relu2 scored the best validation accuracy",
        budgetEpochs: 30, spentEpochs: 29, rounds: 2, seconds: 1.6)

    @Test func jobAndMetricsShowEveryCandidateAndTheChoice() throws {
        let harness = try RouteHarness()
        let id = try #require(harness.call(.post, "/jobs").json["id"] as? String)
        #expect(harness.call(.get, "/jobs/\(id)").json["freeze_search"] == nil, "no search reported yet")
        try harness.service.store.appendEvent(jobID: id, kind: "freeze_search", message: "round 1",
                                              data: try FineTuningJobRunner.object(Self.report))
        for path in ["/jobs/\(id)", "/jobs/\(id)/metrics"] {
            let body = harness.call(.get, path)
            #expect(body.status == 200)
            let search = try #require(body.json["freeze_search"] as? [String: Any], "\(path): \(body.json)")
            #expect(search["chosen"] as? [String: String] == ["until": "layer2_relu2"])
            #expect((search["reason"] as? String)?.contains("best validation accuracy") == true)
            let candidates = try #require(search["candidates"] as? [[String: Any]])
            #expect(candidates.count == 3)
            #expect(candidates[0]["policy"] as? String == "backbone")
            #expect(candidates[1]["validation_accuracy"] as? Double == 0.93 && candidates[1]["seconds"] as? Double == 0.9)
            #expect(candidates[1]["outcome"] as? String == "chosen")
            #expect(candidates[2]["outcome"] as? String == "diverged" && candidates[2]["note"] != nil)
            #expect(candidates[2]["validation_accuracy"] == nil)
        }
    }

    @Test func autoIsTheDefaultOfASubmittedJob() throws {
        let harness = try RouteHarness()
        let created = harness.call(.post, "/jobs", json: #"{"hyperparameters": {"search_budget": 12}}"#)
        #expect(created.status == 202)
        let hyper = (created.json["spec"] as? [String: Any])?["hyperparameters"] as? [String: Any]
        #expect(hyper?["freeze"] as? String == "auto" && hyper?["search_budget"] as? Int == 12)
        let refused = harness.call(.post, "/jobs", json: #"{"hyperparameters": {"freeze": "automatic"}}"#)
        #expect(refused.status == 422 && refused.json["error"] != nil)
    }
}
