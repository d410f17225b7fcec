// GET /models/:id shows the input spec, head node and a per-node layer summary read from the model folder.
import Foundation
import Testing
@testable import GraftService

@Suite struct ModelDetailRouteTests {
    /// Element counts of every tensor in a safetensors file, read straight from its JSON header.
    static func tensorSizes(_ url: URL) throws -> [String: Int] {
        let data = try Data(contentsOf: url)
        let length = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try #require(try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length)))
                                  as? [String: Any])
        var sizes: [String: Int] = [:]
        for (name, entry) in header where name != "__metadata__" {
            let shape = try #require((entry as? [String: Any])?["shape"] as? [Int])
            sizes[name] = shape.reduce(1, *)
        }
        return sizes
    }

    @Test func defaultBaseModelShowsInputHeadAndLayers() throws {
        let harness = try RouteHarness()
        try EndToEndFineTuningTests.installDefaultBase(harness)
        let response = harness.call(.get, "/models/fmnist-resnet8")
        #expect(response.status == 200)
        let body = response.json
        #expect(body["id"] as? String == "fmnist-resnet8" && body["kind"] as? String == "base")
        #expect(body["architecture_error"] == nil, "\(body)")
        let input = try #require(body["input"] as? [String: Any], "\(body)")
        #expect(input["channels"] as? Int == 1 && input["height"] as? Int == 28 && input["width"] as? Int == 28)
        #expect(input["resize"] as? String == "stretch", "the canonical name of the manifest's \"resize\"")
        #expect((input["mean"] as? [Double])?.map { Float($0) } == [0.286])
        #expect((input["std"] as? [Double])?.map { Float($0) } == [0.353])
        #expect(input["crop_fraction"] as? Double == 1, "a manifest without crop_fraction keeps the whole region")
        #expect(body["head"] as? String == "fc")

        let layers = try #require(body["layers"] as? [[String: Any]])
        #expect(layers.count == 31)
        // conv1: 16 filters of 1×3×3, no bias, padding 1 keeps 28×28.
        let first = try #require(layers.first)
        #expect(first["node"] as? String == "conv1" && first["op"] as? String == "Conv2d")
        #expect(first["inputs"] as? [String] == ["input"])
        #expect(first["output_shape"] as? [Int] == [16, 28, 28] && first["parameters"] as? Int == 16 * 9)
        let last = try #require(layers.last)
        #expect(last["node"] as? String == "fc" && last["output_shape"] as? [Int] == [5], "one logit per label")

        // Independent reference: the weights file. Weights and buffers together are every tensor it holds.
        let weightsFile = harness.service.baseModelsDirectory
            .appendingPathComponent("fmnist-resnet8/weights.safetensors")
        let sizes = try Self.tensorSizes(weightsFile)
        let total = try #require(body["total_parameters"] as? Int)
        let buffers = try #require(body["total_buffers"] as? Int)
        #expect(total + buffers == sizes.values.reduce(0, +))
        let bufferNames = sizes.keys.filter { $0.hasSuffix("running_mean") || $0.hasSuffix("running_var") }
        #expect(buffers == bufferNames.map { sizes[$0]! }.reduce(0, +))
        #expect(layers.map { $0["parameters"] as? Int ?? -1 }.reduce(0, +) == total)
        #expect(sizes["conv1.weight"] == 16 * 9)
    }

    @Test func unreadableFolderStillShowsTheRowAndSaysWhy() throws {
        let harness = try RouteHarness()
        try harness.service.store.upsertBaseModel(ModelRecord(id: "base-gone", name: "gone", kind: .base,
                                                              path: "/models/tiny", weightsHash: "h"))
        let response = harness.call(.get, "/models/base-gone")   // a path that does not exist
        #expect(response.status == 200 && response.json["id"] as? String == "base-gone")
        #expect((response.json["architecture_error"] as? String)?.contains("/models/tiny") == true)
        #expect(response.json["layers"] == nil)
        #expect(harness.call(.get, "/models/missing").status == 404)
    }
}
