// Base models under Models/ are registered with labels and weight hashes; broken folders are skipped with reasons.
import Foundation
import NeuralNetwork
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
        // labels kept in a file beside the manifest (a base model whose names are fetched at set-up)
        try Self.writeModel(models.appendingPathComponent("imagenet-like"), manifest: """
            {"format_version": 1, "labels_file": "labels.txt", "provenance": {"set_up_by": "scripts/fetch-it"}}
            """, weights: weights)
        try Data("tench\ngoldfish\n".utf8).write(to: models.appendingPathComponent("imagenet-like/labels.txt"))
        try Self.writeModel(models.appendingPathComponent("not-fetched"), manifest: """
            {"format_version": 1, "labels_file": "labels.txt", "provenance": {"set_up_by": "scripts/fetch-it"}}
            """, weights: nil)

        let report = try BaseModelCatalog(directory: models).synchronize(into: store)
        #expect(report.registered == ["fashion-small", "imagenet-like"])
        #expect(report.skipped.map { URL(fileURLWithPath: $0.folder).lastPathComponent }
                == ["no-labels", "no-weights", "not-fetched", "not-json"])
        #expect(report.skipped[0].reason.contains("labels"))
        #expect(report.skipped[1].reason.contains("weights.safetensors is missing; add the weights"))
        #expect(report.skipped[2].reason.contains("weights.safetensors is missing; run scripts/fetch-it"),
                "\(report.skipped[2].reason)")
        #expect(try store.model(id: "imagenet-like").labelsJSON == #"["tench","goldfish"]"#)

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
