// Parity with PyTorch for the structural layers ONNX-imported networks need (ceil-mode and dilated pooling,
// global max pooling, LRN, Pad, ChannelShuffle, any-axis Softmax and Flatten): each fixture's `graft_node` is
// run on the plain input and behind a frozen identity 1×1 convolution, so the layer also sees oneDNN's blocked
// layout, within |a − b| ≤ 1e-4·max(1, |b|).
import Foundation
import Testing
@testable import NeuralNetwork

@Suite struct StructureParityTests {
    static let fixtures = [
        "maxpool2d_ceil", "avgpool2d_ceil_count_include_pad_true", "avgpool2d_ceil_count_include_pad_false",
        "avgpool2d_ceil_k2s2p1", "maxpool2d_dilation2", "global_max_pool", "lrn", "pad", "channel_shuffle",
        "softmax_dim2", "softmax_dim3", "flatten_start_dim2",
    ]

    /// The node a fixture's `graft_node` metadata describes, reading the graph input or `source`.
    static func node(for f: PyTorchFixture, input source: String) throws -> NodeSpec {
        struct Stored: Decodable { var op: String; var attributes: [String: AttributeValue] }
        let stored = try JSONDecoder().decode(Stored.self, from: Data(f.string("graft_node").utf8))
        return NodeSpec(name: "layer", op: stored.op, attributes: stored.attributes, inputs: [source])
    }

    /// y = x, exactly: a frozen 1×1 convolution whose weights are the identity matrix.
    static func identity(channels: Int) -> Conv2d {
        var g = SeededGenerator(seed: 0)
        let conv = Conv2d(inChannels: channels, outChannels: channels, kernelSize: [1, 1], bias: false, generator: &g)
        conv.weight.value = Tensor(shape: conv.weight.value.shape, repeating: 0)
        for c in 0..<channels { conv.weight.value.scalars[c * channels + c] = 1 }
        conv.weight.isFrozen = true
        return conv
    }

    @Test(arguments: fixtures, [false, true])
    func layerMatchesPyTorch(_ name: String, behindConvolution: Bool) throws {
        let f = try PyTorchFixture.load(name)
        let context = ComputeContext(threads: 2)
        let graph: Graph
        if behindConvolution {
            var g = SeededGenerator(seed: 1)
            let spec = try Self.node(for: f, input: "stem")
            let layer = try LayerFactory.make(spec, generator: &g)
            graph = try Graph(nodes: [NodeSpec(name: "stem", op: "Conv2d", inputs: ["input"]), spec],
                              layers: [Self.identity(channels: f["x"].shape[1]), layer], context: context)
        } else {
            graph = try Graph(nodes: [try Self.node(for: f, input: "input")], context: context)
        }
        graph.inputRequiresGradient = true
        let y = try graph.forward(f["x"], mode: .training)
        #expect(y.shape == f["y"].shape, "\(name): output shape \(y.shape), PyTorch \(f["y"].shape)")
        expectParity(y, f["y"], "\(name) y")
        let dx = try #require(try graph.backward(f["dy"]))
        expectParity(dx, f["dx"], "\(name) dx")
        expectParity(try graph.forward(f["x"], mode: .inference), f["y"], "\(name) y (inference)")
    }

    /// A layer built in code and written out (a graph given layers without node attributes takes the layer's)
    /// reads back through the factory as the same layer: same attributes, same output shape.
    @Test func attributesRoundTripThroughTheFactory() throws {
        let layers: [Layer] = [
            Pool2d(kind: .max, kernelSize: [3, 3], stride: [2, 2], padding: [1, 1], dilation: [2, 1], ceilMode: true),
            Pool2d(kind: .average(countIncludePad: false), kernelSize: [3, 2], stride: [2, 2], padding: [1, 0],
                   ceilMode: true),
            Pool2d(kind: .globalMax), LRN(size: 5, alpha: 1e-4, beta: 0.75, k: 2), Pad(pads: [0, 1, 2, 3], value: 0.1),
            ChannelShuffle(groups: 4), Concat(dim: -1), SoftmaxLayer(dim: 2), Flatten(startDim: 2, endDim: 3),
        ]
        for layer in layers {
            var g = SeededGenerator(seed: 2)
            let inputs = layer is Concat ? ["input", "input"] : ["input"]
            let spec = NodeSpec(name: "n", op: layer.op, attributes: layer.attributes, inputs: inputs)
            let rebuilt = try LayerFactory.make(spec, generator: &g)
            #expect(rebuilt.attributes == layer.attributes, "\(layer.op): \(rebuilt.attributes) vs \(layer.attributes)")
            let shapes = [[2, 8, 9, 10]] + (layer is Concat ? [[2, 8, 9, 10]] : [])
            #expect(try rebuilt.outputShape(for: shapes, node: "n") == layer.outputShape(for: shapes, node: "n"))
        }
        // ceil mode and dilation are written only when they differ from PyTorch's defaults
        #expect(Pool2d(kind: .max, kernelSize: [2, 2]).attributes["ceil_mode"] == nil)
        #expect(Pool2d(kind: .max, kernelSize: [2, 2], ceilMode: true).attributes["ceil_mode"] == .bool(true))
        #expect(Flatten().attributes.isEmpty && Flatten(startDim: 2).attributes["start_dim"] == .int(2))
    }
}
