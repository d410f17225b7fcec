// Parity with PyTorch: every layer fixture and the small residual network of Fixtures/ (see its README), run
// through Graft's graphs and plans, within |a − b| ≤ 1e-4·max(1, |b|).
import Foundation
import Testing
@testable import NeuralNetwork

func expectParity(_ a: Tensor, _ b: Tensor, _ what: String, tolerance: Float = 1e-4,
                  sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.shape.reduce(1, *) == b.shape.reduce(1, *), "\(what): \(a.shape) vs \(b.shape)", sourceLocation: sourceLocation)
    guard a.count == b.count else { return }
    let worst = zip(a.scalars, b.scalars).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
    #expect(worst <= tolerance, "\(what): worst relative error \(worst)", sourceLocation: sourceLocation)
}

@Suite struct PyTorchParityTests {
    static let layerFixtures = [
        "conv2d_stride2", "conv2d_asymmetric_padding", "conv2d_dilation2", "conv2d_groups", "conv2d_depthwise",
        "conv2d_pointwise", "batchnorm2d_train", "batchnorm2d_eval", "maxpool2d_k3s2p1", "maxpool2d_k2s2",
        "avgpool2d_count_include_pad_true", "avgpool2d_count_include_pad_false", "lppool2d_p2", "global_avg_pool",
        "relu", "relu6", "softmax", "linear",
    ]

    /// The node spec Graft uses for a fixture's op and metadata.
    static func node(for f: PyTorchFixture) -> NodeSpec {
        var attributes: [String: AttributeValue] = [:]
        func pair(_ key: String) -> AttributeValue { let p = f.pair(key); return .ints([p.0, p.1]) }
        let meta = f.metadata
        for key in ["in_channels", "out_channels", "groups", "num_features", "in_features", "out_features", "norm_type"]
        where meta[key] != nil { attributes[key] = .int(f.int(key)) }
        for key in ["kernel_size", "stride", "dilation"] where meta[key] != nil { attributes[key] = pair(key) }
        if meta["padding_begin"] != nil {
            let b = f.pair("padding_begin"), e = f.pair("padding_end")
            attributes["padding"] = .ints([b.0, b.1, e.0, e.1])
        }
        for key in ["bias", "count_include_pad"] where meta[key] != nil { attributes[key] = .bool(f.bool(key)) }
        for key in ["eps", "momentum"] where meta[key] != nil { attributes[key] = .float(Double(f.float(key))) }
        let op = f.string("op") == "AdaptiveAvgPool2d" ? "GlobalAvgPool" : f.string("op")
        return NodeSpec(name: "layer", op: op, attributes: attributes, inputs: ["input"])
    }

    @Test(arguments: layerFixtures)
    func layerMatchesPyTorch(_ name: String) throws {
        let f = try PyTorchFixture.load(name)
        let graph = try Graph(nodes: [Self.node(for: f)], context: ComputeContext(threads: 2))
        graph.inputRequiresGradient = true
        for (_, p) in graph.namedParameters() { p.value = f[p.name] }
        let mode: Mode = f.string("mode") == "eval" ? .inference : .training
        if mode == .inference {
            // A BatchNorm with frozen parameters runs on its running statistics even inside a training step;
            // that is how PyTorch's eval-mode gradients are reproduced here.
            for (_, p) in graph.namedParameters() { p.isFrozen = true }
            _ = try graph.forward(f["x"], mode: .training)
            expectParity(try graph.forward(f["x"], mode: .training), f["y"], "\(name) y (frozen)")
            let dx = try #require(try graph.backward(f["dy"]))
            expectParity(dx, f["dx"], "\(name) dx")
            expectParity(try graph.forward(f["x"], mode: .inference), f["y"], "\(name) y (inference)")
            return
        }
        let y = try graph.forward(f["x"], mode: .training)
        expectParity(y, f["y"], "\(name) y")
        let dx = try #require(try graph.backward(f["dy"]))
        expectParity(dx, f["dx"], "\(name) dx")
        for (key, p) in graph.namedParameters() {
            if p.kind == .weight {
                expectParity(p.gradient, f["grad.\(p.name)"], "\(name) grad \(key)")
            } else {
                expectParity(p.value, f["\(p.name)_after"], "\(name) \(key) after the step")
            }
        }
    }

    /// Two-input ops: the graph input is x0 ‖ x1 along channels; two frozen 1×1 selection convolutions (weights
    /// 0/1, exact) split it again, so the op sees oneDNN-chosen layouts and dx splits back into dx0 and dx1.
    @Test(arguments: ["add", "concat", "concat_dim2", "concat_dim3"])
    func twoInputOpMatchesPyTorch(_ name: String) throws {
        let f = try PyTorchFixture.load(name)
        let x0 = f["x0"], x1 = f["x1"]
        let (n, c0, c1, h, w) = (x0.shape[0], x0.shape[1], x1.shape[1], x0.shape[2], x0.shape[3])
        var input: [Float] = []
        for i in 0..<n {
            input += x0.scalars[(i * c0 * h * w)..<((i + 1) * c0 * h * w)]
            input += x1.scalars[(i * c1 * h * w)..<((i + 1) * c1 * h * w)]
        }
        var g = SeededGenerator(seed: 0)
        func selector(offset: Int, count: Int) -> Conv2d {
            let conv = Conv2d(inChannels: c0 + c1, outChannels: count, kernelSize: [1, 1], bias: false, generator: &g)
            conv.weight.value = Tensor(shape: conv.weight.value.shape, repeating: 0)
            for o in 0..<count { conv.weight.value.scalars[o * (c0 + c1) + offset + o] = 1 }
            conv.weight.isFrozen = true
            return conv
        }
        let nodes = [NodeSpec(name: "a", op: "Conv2d", inputs: ["input"]), NodeSpec(name: "b", op: "Conv2d", inputs: ["input"]),
                     NodeSpec(name: "op", op: name == "add" ? "Add" : "Concat", inputs: ["a", "b"])]
        let concat = Concat(dim: f.metadata["dim"].flatMap { Int($0) } ?? 1)
        let graph = try Graph(nodes: nodes, layers: [selector(offset: 0, count: c0), selector(offset: c0, count: c1),
                                                     name == "add" ? Add() : concat],
                              context: ComputeContext(threads: 2))
        graph.inputRequiresGradient = true
        expectParity(try graph.forward(Tensor(shape: [n, c0 + c1, h, w], scalars: input), mode: .training), f["y"], "\(name) y")
        let dx = try #require(try graph.backward(f["dy"]))
        var dx0: [Float] = [], dx1: [Float] = []
        for i in 0..<n {
            let base = i * (c0 + c1) * h * w
            dx0 += dx.scalars[base..<(base + c0 * h * w)]
            dx1 += dx.scalars[(base + c0 * h * w)..<(base + (c0 + c1) * h * w)]
        }
        expectParity(Tensor(shape: x0.shape, scalars: dx0), f["dx0"], "\(name) dx0")
        expectParity(Tensor(shape: x1.shape, scalars: dx1), f["dx1"], "\(name) dx1")
    }

    @Test(arguments: ["cross_entropy_smoothing", "cross_entropy_weighted", "cross_entropy_weighted_smoothing"])
    func crossEntropyMatchesPyTorch(_ name: String) throws {
        let f = try PyTorchFixture.load(name)
        let loss = SoftmaxCrossEntropy(labelSmoothing: f.float("label_smoothing"),
                                       classWeights: f.bool("weighted") ? f["weight"].scalars : nil)
        let (value, gradient) = loss(logits: f["x"], labels: f["target"].scalars.map { Int($0) })
        expectParity(vector([value]), vector(f["loss"].scalars), "\(name) loss")
        expectParity(gradient, f["dx"], "\(name) dx")
    }

    /// The graph in the fixture's metadata, as Graft nodes (AdaptiveAvgPool2d(1) → GlobalAvgPool, with the
    /// Flatten PyTorch's forward applies before `fc` made explicit).
    static func networkNodes(_ f: PyTorchFixture) throws -> [NodeSpec] {
        let array = try JSONSerialization.jsonObject(with: Data(f.string("graph").utf8)) as! [[String: Any]]
        var nodes: [NodeSpec] = []
        for entry in array {
            var attributes: [String: AttributeValue] = [:]
            for (key, value) in entry where !["name", "op", "inputs"].contains(key) {
                let data = try JSONSerialization.data(withJSONObject: [value])
                attributes[key] = try JSONDecoder().decode([AttributeValue].self, from: data)[0]
            }
            var op = entry["op"] as! String
            var inputs = entry["inputs"] as! [String]
            if op == "AdaptiveAvgPool2d" { op = "GlobalAvgPool"; attributes = [:] }
            if op == "Linear" {
                nodes.append(NodeSpec(name: "flatten", op: "Flatten", inputs: inputs))
                inputs = ["flatten"]
            }
            nodes.append(NodeSpec(name: entry["name"] as! String, op: op, attributes: attributes, inputs: inputs))
        }
        return nodes
    }

    @Test func smallResidualNetworkMatchesPyTorch() throws {
        let f = try PyTorchFixture.load("network_small_residual")
        let graph = try Graph(nodes: try Self.networkNodes(f), context: ComputeContext(threads: 2))
        graph.inputRequiresGradient = true
        for (key, p) in graph.namedParameters() { p.value = f[key] }
        expectParity(try graph.forward(f["x"], mode: .inference), f["eval.logits"], "eval logits")

        let logits = try graph.forward(f["x"], mode: .training)
        expectParity(logits, f["logits"], "training logits")
        let (loss, gradient) = SoftmaxCrossEntropy()(logits: logits, labels: f["target"].scalars.map { Int($0) })
        expectParity(vector([loss]), vector(f["loss"].scalars), "loss")
        let dx = try #require(try graph.backward(gradient))
        expectParity(dx, f["dx"], "dx")
        var checked = 0
        for (key, p) in graph.namedParameters() {
            if p.kind == .weight {
                expectParity(p.gradient, f["grad.\(key)"], "grad \(key)"); checked += 1
            } else {
                expectParity(p.value, f["after.\(key)"], "\(key) after the step")
            }
        }
        #expect(checked == 14)
    }
}
