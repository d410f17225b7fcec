// model.json round trips and validation messages, state-dict loading, and the summary's numbers.
import Foundation
import Testing
@testable import NeuralNetwork

@Suite struct ModelFileTests {
    static func resnetManifest() -> ModelManifest {
        ModelManifest(nodes: Architectures.resnet8(), input: .init(channels: 1, height: 28, width: 28, mean: [0.5], std: [0.25]),
                      labels: (0..<10).map { "class\($0)" }, head: "fc", provenance: ["source": "test"], metrics: ["accuracy": 0.9])
    }

    static func temporaryFile(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("graft-\(UUID().uuidString)-\(name)")
    }

    @Test func manifestRoundTripsWithSnakeCaseKeys() throws {
        let url = Self.temporaryFile("model.json")
        defer { try? FileManager.default.removeItem(at: url) }
        let manifest = Self.resnetManifest()
        try manifest.write(to: url)
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(text.contains("\"format_version\" : 1"))
        #expect(text.contains("\"kernel_size\" : 3"))
        #expect(try ModelManifest.read(contentsOf: url) == manifest)
    }

    /// A manifest with `labels_file` keeps its labels in that file: written beside it, read back, checked.
    @Test func labelsCanLiveInAFileBesideTheManifest() throws {
        let folder = Self.temporaryFile("model")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("model.json")
        var manifest = Self.resnetManifest()
        manifest.labelsFile = "labels.txt"
        try manifest.write(to: url)
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(text.contains("\"labels_file\" : \"labels.txt\"") && !text.contains("class3"), "names stay out of model.json")
        #expect(try String(contentsOf: folder.appendingPathComponent("labels.txt"), encoding: .utf8)
                == (0..<10).map { "class\($0)\n" }.joined())
        #expect(try ModelManifest.read(contentsOf: url).labels == manifest.labels)

        try Data("a\nb\n".utf8).write(to: folder.appendingPathComponent("labels.txt"))
        #expect(throws: ModelError("\(url.path): head 'fc' gives 10 outputs but there are 2 labels")) {
            try ModelManifest.read(contentsOf: url)
        }
        try Data("a\n\nb\n".utf8).write(to: folder.appendingPathComponent("labels.txt"))
        #expect(throws: ModelError("\(folder.path)/labels.txt: line 2 is empty; give one class name per line")) {
            try ModelManifest.read(contentsOf: url)
        }
        try FileManager.default.removeItem(at: folder.appendingPathComponent("labels.txt"))
        #expect { try ModelManifest.read(contentsOf: url) } throws: { error in
            "\(error)".contains("labels.txt: cannot read the labels file named by model.json")
        }
        // only a file beside the manifest
        manifest.labelsFile = "../elsewhere.txt"
        #expect(throws: ModelError.self) { try manifest.write(to: url) }
        let json = try String(contentsOf: url, encoding: .utf8)
            .replacingOccurrences(of: "\"labels.txt\"", with: "\"../elsewhere.txt\"")
        try Data(json.utf8).write(to: url)
        #expect(throws: ModelError("\(url.path): labels_file must name a file beside model.json, got '../elsewhere.txt'")) {
            try ModelManifest.read(contentsOf: url)
        }
    }

    @Test func manifestValidationNamesFileAndProblem() throws {
        let url = Self.temporaryFile("model.json")
        defer { try? FileManager.default.removeItem(at: url) }
        var manifest = Self.resnetManifest()
        manifest.labels = ["a", "b"]
        try manifest.write(to: url)
        #expect(throws: ModelError("\(url.path): head 'fc' gives 10 outputs but there are 2 labels")) {
            try ModelManifest.read(contentsOf: url)
        }
        manifest = Self.resnetManifest()
        manifest.head = "nope"
        try manifest.write(to: url)
        #expect(throws: ModelError("\(url.path): head node 'nope' is not in the graph")) { try ModelManifest.read(contentsOf: url) }
        try Data("{\"format_version\": 1}".utf8).write(to: url)
        #expect(throws: ModelError("\(url.path): invalid model manifest: missing 'nodes' at the top level")) {
            try ModelManifest.read(contentsOf: url)
        }
    }

    @Test func stateDictLoadValidatesEveryTensor() throws {
        let graph = try Graph(nodes: Architectures.resnet8(), seed: 1, context: ComputeContext(threads: 1))
        let other = try Graph(nodes: Architectures.resnet8(), seed: 2, context: ComputeContext(threads: 1))
        var state = other.stateDict()
        try graph.load(stateDict: state, file: "w.safetensors")
        #expect(graph.stateDict() == other.stateDict())

        state["fc.weight"] = Tensor(shape: [10, 63])
        #expect(throws: ModelError("w.safetensors: tensor 'fc.weight' has shape [10, 63], expected [10, 64]")) {
            try graph.load(stateDict: state, file: "w.safetensors")
        }
        state = other.stateDict()
        state.removeValue(forKey: "bn1.running_var")
        #expect(throws: ModelError("w.safetensors: tensor 'bn1.running_var' is missing (expected shape [16])")) {
            try graph.load(stateDict: state, file: "w.safetensors")
        }
        state = other.stateDict()
        state["extra.weight"] = Tensor(shape: [1])
        #expect(throws: ModelError("w.safetensors: tensor 'extra.weight' does not belong to any node of the graph")) {
            try graph.load(stateDict: state, file: "w.safetensors")
        }
    }

    @Test func summaryCountsParametersAndMacs() throws {
        let graph = try Graph(nodes: Architectures.resnet8(), context: ComputeContext(threads: 1))
        let rows = try graph.summaryRows(inputShape: [1, 1, 28, 28])
        let stem = try #require(rows.first)
        #expect(stem.outputShape == [1, 16, 28, 28] && stem.parameters == 144 && stem.macs == 16 * 28 * 28 * 9)
        let fc = try #require(rows.last)
        #expect(fc.parameters == 650 && fc.macs == 640)
        #expect(rows.map(\.parameters).reduce(0, +) == 77_754)
        let text = try graph.summary(inputShape: [1, 1, 28, 28])
        #expect(text.contains("Total params: 77,754"))
        #expect(text.contains("layer3_add (Add)"))
    }
}

@Suite struct ModelFolderTests {
    @Test func saveAndLoadRoundTripGivesTheSameOutputs() throws {
        let folder = ModelFileTests.temporaryFile("model")
        defer { try? FileManager.default.removeItem(at: folder) }
        let manifest = ModelFileTests.resnetManifest()
        let graph = try Graph(nodes: manifest.nodes, output: "fc", seed: 9, context: ComputeContext(threads: 1))
        for (_, p) in graph.namedParameters() where p.kind == .buffer {
            for i in p.value.scalars.indices { p.value.scalars[i] += 0.25 }
        }
        let hash = try ModelFolder(manifest: manifest, graph: graph).save(to: folder)
        // the hash save returns (computed from memory) is the written file's, as an independent read gives it
        #expect(hash == (try SHA256.hexDigest(ofFileAt: folder.appendingPathComponent(ModelFolder.weightsName))))
        #expect(hash.count == 64)
        let loaded = try ModelFolder.load(from: folder, context: ComputeContext(threads: 1))
        #expect(loaded.manifest == manifest)
        let x = randomTensor([2, 1, 28, 28], seed: 10)
        #expect(try loaded.graph.forward(x, mode: .inference) == (try graph.forward(x, mode: .inference)))
    }

    @Test func weightsThatDoNotMatchTheGraphAreRefusedByName() throws {
        let folder = ModelFileTests.temporaryFile("model")
        defer { try? FileManager.default.removeItem(at: folder) }
        let manifest = ModelFileTests.resnetManifest()
        let graph = try Graph(nodes: manifest.nodes, output: "fc", context: ComputeContext(threads: 1))
        try ModelFolder(manifest: manifest, graph: graph).save(to: folder)
        var state = graph.stateDict()
        state["layer1_conv1.weight"] = Tensor(shape: [16, 16, 3, 1])
        let weights = folder.appendingPathComponent("weights.safetensors")
        try Safetensors.write(state, to: weights)
        #expect(throws: ModelError(
            "\(weights.path): tensor 'layer1_conv1.weight' has shape [16, 16, 3, 1], expected [16, 16, 3, 3]")) {
            try ModelFolder.load(from: folder, context: ComputeContext(threads: 1))
        }
    }
}
