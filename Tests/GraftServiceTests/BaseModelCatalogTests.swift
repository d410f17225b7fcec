// Base models under Models/ are registered with labels and weight hashes; broken folders are skipped with reasons.
import Foundation
import Testing
@testable import GraftService

@Suite struct BaseModelCatalogTests {
    static func writeModel(_ folder: URL, manifest: String?, weights: Data?) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        if let manifest { try manifest.write(to: folder.appendingPathComponent("model.json"), atomically: true,
                                             encoding: .utf8) }
        if let weights { try weights.write(to: folder.appendingPathComponent("weights.safetensors")) }
    }

    @Test func registersGoodFoldersAndExplainsBadOnes() throws {
        let directory = try TemporaryDirectory()
        let store = try TestSupport.makeStore(in: directory)
        let models = directory.path("Models")
        let weights = Data((0..<1000).map { UInt8($0 % 251) })
        try Self.writeModel(models.appendingPathComponent("fashion-small"), manifest: """
            {"format_version": 1, "labels": ["tshirt", "trouser"], "provenance": {"dataset": "fashion-mnist 0-4"},
             "metrics": {"accuracy": 0.91}}
            """, weights: weights)
        try Self.writeModel(models.appendingPathComponent("no-weights"), manifest: #"{"labels": ["a"]}"#, weights: nil)
        try Self.writeModel(models.appendingPathComponent("no-labels"), manifest: #"{"head": "fc"}"#, weights: weights)
        try Self.writeModel(models.appendingPathComponent("not-json"), manifest: "{", weights: weights)

        let report = try BaseModelCatalog(directory: models).synchronize(into: store)
        #expect(report.registered == ["fashion-small"])
        #expect(report.skipped.map { URL(fileURLWithPath: $0.folder).lastPathComponent }
                == ["no-labels", "no-weights", "not-json"])
        #expect(report.skipped[0].reason.contains("labels"))
        #expect(report.skipped[1].reason.contains("weights.safetensors is missing"))

        let model = try store.model(id: "fashion-small")
        #expect(model.kind == .base && model.labelsJSON == #"["tshirt","trouser"]"#)
        #expect(model.weightsHash == SHA256.hexDigest(of: weights))
        #expect(model.provenanceJSON == #"{"dataset":"fashion-mnist 0-4"}"#)
        #expect(model.metricsJSON == #"{"accuracy":0.91}"#)

        // New weights are picked up on the next start; a removed folder is reported missing.
        let newWeights = Data(weights.reversed())
        try newWeights.write(to: models.appendingPathComponent("fashion-small/weights.safetensors"))
        _ = try BaseModelCatalog(directory: models).synchronize(into: store)
        #expect(try store.model(id: "fashion-small").weightsHash == SHA256.hexDigest(of: newWeights))
        try FileManager.default.removeItem(at: models.appendingPathComponent("fashion-small"))
        #expect(try BaseModelCatalog(directory: models).synchronize(into: store).missing == ["fashion-small"])
    }
}
