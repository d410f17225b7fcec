// `graft models describe --arch` and `graft import pytorch --arch`: argument checks, a size refused naming the
// layer, and a state dict round-tripping through the command into a model folder with the same outputs.
import ArgumentParser
import Foundation
import NeuralNetwork
import Testing
@testable import graft

@Suite struct ArchitectureCommandTests {
    @Test func describeNeedsAModelOrAnArchitectureAndRefusesSizesTheStridesDoNotDivide() throws {
        #expect(throws: (any Error).self) { _ = try Models.Describe.parse([]) }
        #expect(throws: (any Error).self) { _ = try Models.Describe.parse(["some-model", "--arch", "vgg16"]) }
        #expect(throws: (any Error).self) { _ = try Models.Describe.parse(["some-model", "--size", "64"]) }
        let command = try Models.Describe.parse(["--arch", "vgg16", "--size", "100"])
        do {
            try command.run()
            Issue.record("vgg16 at 100×100 was described")
        } catch {
            #expect("\(error)".contains("'features_16'"), "\(error)")
        }
        let unknown = try Models.Describe.parse(["--arch", "resnet19"])
        #expect(throws: CommandError.self) { try unknown.run() }
    }

    @Test func aStateDictImportsThroughTheCommandWithTheSameOutputs() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("graft-arch-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let nodes = try Architectures.named("lenet5").nodes(classes: 7)
        let source = try Graph(nodes: nodes, output: "fc", seed: 3, inputShape: [1, 1, 32, 32])
        let file = folder.appendingPathComponent("lenet5.safetensors")
        _ = try Safetensors.write(source.stateDict(), to: file)
        let out = folder.appendingPathComponent("model")
        try Import.PyTorch.parse([file.path, "--arch", "lenet5", "--out", out.path]).run()

        let imported = try ModelFolder.load(from: out)
        #expect(imported.manifest.labels.count == 7, "the class count comes from the head's weight")
        var generator = SeededGenerator(seed: 9)
        let x = Tensor(shape: [2, 1, 32, 32], scalars: (0..<2048).map { _ in generator.nextGaussian() })
        #expect(try imported.graph.forward(x, mode: .inference).scalars == source.forward(x, mode: .inference).scalars)
    }
}
