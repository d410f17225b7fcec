// Imported torchvision classifiers against PyTorch's own logits: the models are exported with random weights by
// Tests/ONNX/make_onnx_models.py into the folder GRAFT_ONNX_FIXTURES names (scripts/test sets it after running
// the script); without it the test is skipped and says why.
import Foundation
import Testing
@testable import NeuralNetwork

@Suite struct ONNXParityTests {
    static let folder = ProcessInfo.processInfo.environment["GRAFT_ONNX_FIXTURES"].map { URL(fileURLWithPath: $0) }

    /// Every exported model folder, sorted by name.
    static var models: [String] {
        guard let folder else { return [] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter {
            FileManager.default.fileExists(atPath: folder.appendingPathComponent("\($0)/reference.safetensors").path)
        }.sorted()
    }

    @Test(.enabled(if: folder != nil, "set GRAFT_ONNX_FIXTURES (scripts/test does, after Tests/ONNX/make_onnx_models.py)"),
          arguments: models)
    func importedLogitsMatchPyTorch(model: String) throws {
        let base = Self.folder!.appendingPathComponent(model)
        let (folder, summary) = try ONNXImport.importModel(contentsOf: base.appendingPathComponent("model.onnx"))
        let reference = try Safetensors.read(contentsOf: base.appendingPathComponent("reference.safetensors")).tensors
        let input = try #require(reference["input"]), expected = try #require(reference["logits"])
        let graph = folder.graph
        graph.use(ComputeContext(threads: 2))
        let range = (expected.scalars.max()! - expected.scalars.min()!)
        for batch in [4, 1] {
            let part = Tensor(shape: [batch] + input.shape.dropFirst(), scalars: Array(input.scalars.prefix(batch * input.count / input.shape[0])))
            let logits = try graph.forward(part, mode: .inference)
            let want = Array(expected.scalars.prefix(batch * expected.count / expected.shape[0]))
            #expect(logits.shape == [batch, expected.shape[1]], "\(model) batch \(batch)")
            let error = zip(logits.scalars, want).map { abs($0 - $1) }.max() ?? .infinity
            #expect(error <= 1e-4 * max(range, 1e-3),
                    "\(model) batch \(batch): max |Graft − PyTorch| = \(error), logit range \(range) (\(summary.graftNodes) nodes)")
        }
    }
}
