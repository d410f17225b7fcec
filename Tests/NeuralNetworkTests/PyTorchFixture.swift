// Loads the committed PyTorch parity fixtures (Fixtures/*.safetensors, documented in Fixtures/README.md).
import Foundation
@testable import NeuralNetwork

/// One fixture file: its tensors and its `__metadata__` strings, with typed accessors for the attributes.
struct PyTorchFixture {
    let name: String
    let tensors: [String: Tensor]
    let metadata: [String: String]

    /// The folder holding the fixture files (copied into the test bundle).
    static var folder: URL {
        guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            fatalError("the Fixtures folder is missing from the NeuralNetworkTests bundle")
        }
        return url
    }

    /// The names (without extension) of every fixture file, sorted.
    static var allNames: [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return files.filter { $0.hasSuffix(".safetensors") }.map { String($0.dropLast(".safetensors".count)) }.sorted()
    }

    /// Reads `Fixtures/<name>.safetensors` with Graft's own reader.
    static func load(_ name: String) throws -> PyTorchFixture {
        let (tensors, metadata) = try Safetensors.read(
            contentsOf: folder.appendingPathComponent(name + ".safetensors"))
        return PyTorchFixture(name: name, tensors: tensors, metadata: metadata)
    }

    /// The tensor called `key`; a test failure names the file when it is absent.
    subscript(_ key: String) -> Tensor {
        guard let tensor = tensors[key] else { fatalError("fixture \(name) has no tensor '\(key)'") }
        return tensor
    }

    /// A metadata string.
    func string(_ key: String) -> String {
        guard let value = metadata[key] else { fatalError("fixture \(name) has no metadata '\(key)'") }
        return value
    }

    func int(_ key: String) -> Int { Int(string(key))! }
    func float(_ key: String) -> Float { Float(string(key))! }
    func bool(_ key: String) -> Bool { string(key) == "true" }

    /// A `"height,width"` pair such as `stride` or `padding_begin`.
    func pair(_ key: String) -> (Int, Int) {
        let parts = string(key).split(separator: ",").map { Int($0)! }
        return (parts[0], parts[1])
    }

    /// A comma-separated list such as `inputs` or `parameters` (empty for "").
    func list(_ key: String) -> [String] { string(key).split(separator: ",").map(String.init) }
}
