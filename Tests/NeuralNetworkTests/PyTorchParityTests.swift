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
        "relu", "relu6", "softmax", "linear", "sigmoid", "hardsigmoid", "hardsigmoid_onnx", "hardswish", "silu",
        "leaky_relu", "clip", "clip_max_only",
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
        for key in ["eps", "momentum", "alpha", "beta", "negative_slope", "min", "max"] where meta[key] != nil {
            attributes[key] = .float(Double(f.string(key))!)
        }
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

    /// Two-input ops: the graph input is x0 ‖ x1 along channels (each at the top left of the largest H×W); two frozen
    /// selection convolutions (weights 0/1, exact) split it again — a kernel of (H − Hᵢ + 1)×(W − Wᵢ + 1) whose only 1
    /// is its first tap gives back an input of Hᵢ×Wᵢ — so the op sees oneDNN-chosen layouts and broadcast shapes, and
    /// dx splits back into dx0 and dx1.
    @Test(arguments: ["add", "concat", "mul", "mul_broadcast", "mul_broadcast_reversed", "mul_broadcast_mixed",
                      "add_broadcast", "add_broadcast_reversed", "concat_dim2", "concat_dim3"])
    func twoInputOpMatchesPyTorch(_ name: String) throws {
        let f = try PyTorchFixture.load(name)
        let parts = [f["x0"], f["x1"]]
        let n = parts[0].shape[0], channels = parts.map { $0.shape[1] }
        let h = parts.map { $0.shape[2] }.max()!, w = parts.map { $0.shape[3] }.max()!
        let total = channels.reduce(0, +)
        var input = [Float](repeating: 0, count: n * total * h * w)
        func forEachElement(_ part: Int, _ body: (_ source: Int, _ embedded: Int) -> Void) {
            let (c, ph, pw) = (channels[part], parts[part].shape[2], parts[part].shape[3])
            let offset = part == 0 ? 0 : channels[0]
            for i in 0..<n { for k in 0..<c { for y in 0..<ph { for x in 0..<pw {
                body(((i * c + k) * ph + y) * pw + x, ((i * total + offset + k) * h + y) * w + x)
            } } } }
        }
        for part in 0..<2 { forEachElement(part) { input[$1] = parts[part].scalars[$0] } }
        var g = SeededGenerator(seed: 0)
        func selector(_ part: Int) -> Conv2d {
            let (offset, count) = (part == 0 ? 0 : channels[0], channels[part])
            let kernel = [h - parts[part].shape[2] + 1, w - parts[part].shape[3] + 1]
            let conv = Conv2d(inChannels: total, outChannels: count, kernelSize: kernel, bias: false, generator: &g)
            conv.weight.value = Tensor(shape: conv.weight.value.shape, repeating: 0)
            for o in 0..<count { conv.weight.value.scalars[(o * total + offset + o) * kernel[0] * kernel[1]] = 1 }
            conv.weight.isFrozen = true
            return conv
        }
        let op = f.string("op")
        let nodes = [NodeSpec(name: "a", op: "Conv2d", inputs: ["input"]), NodeSpec(name: "b", op: "Conv2d", inputs: ["input"]),
                     NodeSpec(name: "op", op: op, inputs: ["a", "b"])]
        let layer: Layer = op == "Add" ? Add() : op == "Mul" ? Mul() as Layer
            : Concat(dim: f.metadata["dim"].flatMap { Int($0) } ?? 1)
        let graph = try Graph(nodes: nodes, layers: [selector(0), selector(1), layer], context: ComputeContext(threads: 2))
        graph.inputRequiresGradient = true
        let x = Tensor(shape: [n, total, h, w], scalars: input)
        expectParity(try graph.forward(x, mode: .training), f["y"], "\(name) y")
        let dx = try #require(try graph.backward(f["dy"]))
        for part in 0..<2 {
            var gradient = [Float](repeating: 0, count: parts[part].count)
            forEachElement(part) { gradient[$0] = dx.scalars[$1] }
            expectParity(Tensor(shape: parts[part].shape, scalars: gradient), f["dx\(part)"], "\(name) dx\(part)")
        }
        expectParity(try graph.forward(x, mode: .inference), f["y"], "\(name) y (inference)")
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

    /// Every new op in one network (squeeze-and-excitation with HardSwish and HardSigmoid, SiLU, a Sigmoid gate,
    /// LeakyReLU, a broadcast Add, Clip after a residual Add): inference, whose plan fuses each activation into its
    /// convolution, and the same graph op by op (BatchNorms frozen, so on running statistics and unfused) both give
    /// PyTorch's eval logits; a training step gives its logits, loss and every gradient.
    @Test func squeezeExcitationNetworkMatchesPyTorch() throws {
        let f = try PyTorchFixture.load("network_squeeze_excitation")
        let graph = try Graph(nodes: try Self.networkNodes(f), context: ComputeContext(threads: 2))
        graph.inputRequiresGradient = true
        for (key, p) in graph.namedParameters() { p.value = f[key] }
        let layout = Dictionary(uniqueKeysWithValues: try graph.planLayout(for: f["x"].shape, mode: .inference))
        for node in ["bn1", "hs1", "se_relu", "se_gate", "silu2", "sig3", "leaky4", "bn5", "res", "clip5"] {
            #expect(layout[node]?.hasPrefix("fused into") == true, "\(node): \(layout[node] ?? "?")")
        }
        expectParity(try graph.forward(f["x"], mode: .inference), f["eval.logits"], "eval logits (fused)")
        let norms = graph.namedParameters().filter { $0.key.hasPrefix("bn") }.map(\.parameter)
        for p in norms { p.isFrozen = true }
        expectParity(try graph.forward(f["x"], mode: .training), f["eval.logits"], "eval logits (op by op)")
        for p in norms { p.isFrozen = false }

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
        #expect(checked == 20)
    }
}
