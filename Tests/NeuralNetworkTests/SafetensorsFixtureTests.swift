// Every PyTorch fixture parses with Graft's reader and has its documented names; optimizer and schedule
// fixtures are replayed against Graft's optimizers and schedules.
import Foundation
import Testing
@testable import NeuralNetwork

struct SafetensorsFixtureTests {
    /// The tensor names Fixtures/README.md documents for each layer file.
    static let layerFiles: [String: (op: String, names: [String])] = {
        let convWithBias = ["x", "weight", "bias", "y", "dy", "dx", "grad.weight", "grad.bias"]
        let convNoBias = ["x", "weight", "y", "dy", "dx", "grad.weight"]
        let unary = ["x", "y", "dy", "dx"]
        let binary = ["x0", "x1", "y", "dy", "dx0", "dx1"]
        let crossEntropy = ["x", "target", "loss", "dx"]
        return [
            "conv2d_stride2": ("Conv2d", convWithBias),
            "conv2d_asymmetric_padding": ("Conv2d", convNoBias),
            "conv2d_dilation2": ("Conv2d", convNoBias),
            "conv2d_groups": ("Conv2d", convWithBias),
            "conv2d_depthwise": ("Conv2d", convWithBias),
            "conv2d_pointwise": ("Conv2d", convNoBias),
            "batchnorm2d_train": ("BatchNorm2d", ["x", "weight", "bias", "running_mean", "running_var",
                                                  "running_mean_after", "running_var_after", "y", "dy", "dx",
                                                  "grad.weight", "grad.bias"]),
            "batchnorm2d_eval": ("BatchNorm2d", ["x", "weight", "bias", "running_mean", "running_var", "y", "dy", "dx",
                                                 "grad.weight", "grad.bias"]),
            "maxpool2d_k3s2p1": ("MaxPool2d", unary),
            "maxpool2d_k2s2": ("MaxPool2d", unary),
            "avgpool2d_count_include_pad_true": ("AvgPool2d", unary),
            "avgpool2d_count_include_pad_false": ("AvgPool2d", unary),
            "lppool2d_p2": ("LPPool2d", unary),
            "global_avg_pool": ("AdaptiveAvgPool2d", unary),
            "relu": ("ReLU", unary),
            "relu6": ("ReLU6", unary),
            "softmax": ("Softmax", unary),
            "linear": ("Linear", ["x", "weight", "bias", "y", "dy", "dx", "grad.weight", "grad.bias"]),
            "add": ("Add", binary),
            "sigmoid": ("Sigmoid", unary),
            "hardsigmoid": ("HardSigmoid", unary),
            "hardsigmoid_onnx": ("HardSigmoid", unary),
            "hardswish": ("HardSwish", unary),
            "silu": ("SiLU", unary),
            "leaky_relu": ("LeakyReLU", unary),
            "clip": ("Clip", unary),
            "clip_max_only": ("Clip", unary),
            "mul": ("Mul", binary),
            "mul_broadcast": ("Mul", binary),
            "mul_broadcast_reversed": ("Mul", binary),
            "mul_broadcast_mixed": ("Mul", binary),
            "add_broadcast": ("Add", binary),
            "add_broadcast_reversed": ("Add", binary),
            "concat": ("Concat", binary),
            "concat_dim2": ("Concat", binary),
            "concat_dim3": ("Concat", binary),
            "maxpool2d_ceil": ("MaxPool2d", unary),
            "avgpool2d_ceil_count_include_pad_true": ("AvgPool2d", unary),
            "avgpool2d_ceil_count_include_pad_false": ("AvgPool2d", unary),
            "avgpool2d_ceil_k2s2p1": ("AvgPool2d", unary),
            "maxpool2d_dilation2": ("MaxPool2d", unary),
            "global_max_pool": ("AdaptiveMaxPool2d", unary),
            "lrn": ("LocalResponseNorm", unary),
            "pad": ("ConstantPad2d", unary),
            "channel_shuffle": ("ChannelShuffle", unary),
            "softmax_dim2": ("Softmax", unary),
            "softmax_dim3": ("Softmax", unary),
            "flatten_start_dim2": ("Flatten", unary),
            "cross_entropy_smoothing": ("CrossEntropyLoss", crossEntropy),
            "cross_entropy_weighted": ("CrossEntropyLoss", crossEntropy + ["weight"]),
            "cross_entropy_weighted_smoothing": ("CrossEntropyLoss", crossEntropy + ["weight"]),
        ]
    }()

    static let networkNodes = ["conv1", "bn1", "relu1", "block_conv1", "block_bn1", "block_relu1", "block_conv2",
                               "block_bn2", "shortcut_conv", "shortcut_bn", "add", "relu2", "pool", "fc"]
    static let networkParameters = ["conv1.weight", "bn1.weight", "bn1.bias", "block_conv1.weight",
                                    "block_bn1.weight", "block_bn1.bias", "block_conv2.weight", "block_bn2.weight",
                                    "block_bn2.bias", "shortcut_conv.weight", "shortcut_bn.weight", "shortcut_bn.bias",
                                    "fc.weight", "fc.bias"]
    static let batchNorms = ["bn1", "block_bn1", "block_bn2", "shortcut_bn"]
    static let optimizerFiles = ["optimizer_sgd", "optimizer_sgd_momentum", "optimizer_sgd_nesterov",
                                 "optimizer_adam", "optimizer_adamw"]

    @Test func theFixtureFolderHoldsExactlyTheDocumentedFiles() {
        let expected = Set(Self.layerFiles.keys).union(Self.optimizerFiles)
            .union(["network_small_residual", "network_squeeze_excitation", "schedules", "official_safetensors"])
            .union(["torch_state_expected", "efficientnet_lite0_logits", "efficientnet_lite0_photos"])  // PyTorchCheckpointTests
        #expect(Set(PyTorchFixture.allNames) == expected)
    }

    @Test(arguments: layerFiles.keys.sorted())
    func layerFixtureHasItsDocumentedNamesAndConsistentShapes(name: String) throws {
        let fixture = try PyTorchFixture.load(name)
        let (op, names) = Self.layerFiles[name]!
        #expect(Set(fixture.tensors.keys) == Set(names))
        #expect(fixture.string("op") == op)
        #expect(["train", "eval"].contains(fixture.string("mode")))
        for input in fixture.list("inputs") where input != "target" {
            #expect(fixture["d" + input].shape == fixture[input].shape, "d\(input) in \(name)")
        }
        for parameter in fixture.list("parameters") {
            #expect(fixture["grad." + parameter].shape == fixture[parameter].shape, "grad.\(parameter) in \(name)")
        }
        for buffer in fixture.list("buffers") where fixture.string("mode") == "train" {
            #expect(fixture[buffer + "_after"].shape == fixture[buffer].shape)
        }
        if op == "CrossEntropyLoss" {
            #expect(fixture["loss"].shape == [])
            #expect(fixture["target"].shape == [fixture["x"].shape[0]])
        } else {
            #expect(fixture["dy"].shape == fixture["y"].shape)
        }
        if op == "Conv2d" {
            // DESIGN.md's output size: O = ⌊(W + P_begin + P_end − D·(K−1) − 1)/S⌋ + 1.
            let x = fixture["x"].shape, y = fixture["y"].shape
            let (kh, kw) = fixture.pair("kernel_size"), (sh, sw) = fixture.pair("stride")
            let (pt, pl) = fixture.pair("padding_begin"), (pb, pr) = fixture.pair("padding_end")
            let (dh, dw) = fixture.pair("dilation")
            #expect(y[2] == (x[2] + pt + pb - dh * (kh - 1) - 1) / sh + 1)
            #expect(y[3] == (x[3] + pl + pr - dw * (kw - 1) - 1) / sw + 1)
            #expect(fixture["weight"].shape == [fixture.int("out_channels"),
                                               fixture.int("in_channels") / fixture.int("groups"), kh, kw])
        }
    }

    @Test func networkFixtureHasItsDocumentedNames() throws {
        let fixture = try PyTorchFixture.load("network_small_residual")
        var expected = Set(["x", "target", "eval.logits", "logits", "loss", "dx"])
        for parameter in Self.networkParameters { expected.formUnion([parameter, "grad." + parameter]) }
        for bn in Self.batchNorms {
            for buffer in ["running_mean", "running_var"] {
                expected.formUnion(["\(bn).\(buffer)", "after.\(bn).\(buffer)"])
            }
        }
        for node in Self.networkNodes { expected.insert("act." + node) }
        #expect(Set(fixture.tensors.keys) == expected)
        #expect(fixture["x"].shape == [4, 1, 8, 8])
        #expect(fixture["logits"].shape == [4, 3] && fixture["loss"].shape == [])
        #expect(fixture["act.pool"].shape == [4, 8, 1, 1])
        for parameter in Self.networkParameters {
            #expect(fixture["grad." + parameter].shape == fixture[parameter].shape)
        }
        let graph = try JSONSerialization.jsonObject(with: Data(fixture.string("graph").utf8)) as? [[String: Any]]
        #expect(graph?.compactMap { $0["name"] as? String } == Self.networkNodes)
    }

    @Test func squeezeExcitationFixtureHasItsDocumentedNames() throws {
        let fixture = try PyTorchFixture.load("network_squeeze_excitation")
        let graph = try JSONSerialization.jsonObject(with: Data(fixture.string("graph").utf8)) as! [[String: Any]]
        var expected = Set(["x", "target", "eval.logits", "logits", "loss", "dx"])
        var parameters = 0
        for node in graph {
            let name = node["name"] as! String
            switch node["op"] as! String {
            case "Conv2d", "Linear":
                let keys = ["weight"] + ((node["bias"] as? Bool) == true ? ["bias"] : [])
                for key in keys { expected.formUnion(["\(name).\(key)", "grad.\(name).\(key)"]); parameters += 1 }
            case "BatchNorm2d":
                for key in ["weight", "bias"] { expected.formUnion(["\(name).\(key)", "grad.\(name).\(key)"]); parameters += 1 }
                for key in ["running_mean", "running_var"] { expected.formUnion(["\(name).\(key)", "after.\(name).\(key)"]) }
            default: break
            }
        }
        #expect(parameters == 20)
        #expect(Set(fixture.tensors.keys) == expected)
        #expect(fixture["x"].shape == [2, 3, 8, 8] && fixture["logits"].shape == [2, 3])
    }

    @Test func fileWrittenByTheReferenceLibraryReads() throws {
        // Written by Hugging Face's `safetensors` package (make_official_fixture.py): its own key order, F16,
        // BF16, F64, a 0-d I64 and an empty tensor.
        let fixture = try PyTorchFixture.load("official_safetensors")
        #expect(fixture.metadata["format"] == "pt")
        #expect(fixture.metadata["writer"]?.hasPrefix("safetensors ") == true)
        #expect(fixture["conv.weight"] == Tensor(shape: [2, 3, 2, 2], scalars: (0..<24).map { Float($0) / 8 - 1 }))
        #expect(fixture["half"].scalars == [1, -2.5, 65504, Float(sign: .plus, exponent: -24, significand: 1)])
        #expect(fixture["brain"] == Tensor(shape: [2, 2], scalars: [1, -0.5, 3, 256]))
        #expect(fixture["double"].scalars == [Float(0.1), Float(-1e-3)])
        #expect(fixture["bn.num_batches_tracked"] == Tensor(shape: [], scalars: [7]))
        #expect(fixture["empty"] == Tensor(shape: [0, 3]))
    }

    // MARK: - Optimizers

    private func makeOptimizer(_ fixture: PyTorchFixture) -> Optimizer {
        switch fixture.string("optimizer") {
        case "SGD":
            return SGD(learningRate: fixture.float("lr"), momentum: fixture.float("momentum"),
                       nesterov: fixture.bool("nesterov"), weightDecay: fixture.float("weight_decay"))
        case "Adam":
            return Adam(learningRate: fixture.float("lr"), beta1: fixture.float("beta1"), beta2: fixture.float("beta2"),
                        epsilon: fixture.float("eps"), weightDecay: fixture.float("weight_decay"))
        default:
            return AdamW(learningRate: fixture.float("lr"), beta1: fixture.float("beta1"),
                         beta2: fixture.float("beta2"), epsilon: fixture.float("eps"),
                         weightDecay: fixture.float("weight_decay"))
        }
    }

    /// Largest |a − b| / |b| over the elements (|b| floored at 1e-3 so near-zero references stay meaningful).
    private func relativeError(_ a: Tensor, _ b: Tensor) -> Float {
        precondition(a.shape == b.shape)
        return zip(a.scalars, b.scalars).map { abs($0 - $1) / max(abs($1), 1e-3) }.max() ?? 0
    }

    @Test(arguments: optimizerFiles)
    func optimizerMatchesPyTorchStepByStep(name: String) throws {
        let fixture = try PyTorchFixture.load(name)
        let keys = fixture.list("parameters")
        #expect(keys == ["fc.weight", "fc.bias"])
        let parameters = keys.map { key in
            (key: key, parameter: Parameter(name: String(key.split(separator: ".").last!),
                                            value: fixture["initial." + key]))
        }
        let optimizer = makeOptimizer(fixture)
        for step in 1...fixture.int("steps") {
            for (key, parameter) in parameters { parameter.gradient = fixture["step\(step).grad.\(key)"] }
            optimizer.step(parameters)
            for (key, parameter) in parameters {
                let error = relativeError(parameter.value, fixture["step\(step).\(key)"])
                #expect(error < 1e-5, "\(name) step \(step) \(key): relative error \(error)")
            }
        }
        // The final state carries PyTorch's names (without the fixture's `state.` prefix).
        let state = optimizer.state()
        let pytorchState = fixture.tensors.filter { $0.key.hasPrefix("state.") }
        #expect(Set(state.keys.filter { $0 != "step" }) == Set(pytorchState.keys.map { String($0.dropFirst(6)) }))
        for (key, tensor) in pytorchState {
            let ours = try #require(state[String(key.dropFirst(6))])
            #expect(relativeError(ours, tensor) < 1e-5, "\(name) \(key)")
        }

        // PyTorch's state loads into a fresh optimizer, which then continues exactly as the original.
        var imported = Dictionary(uniqueKeysWithValues: pytorchState.map { (String($0.key.dropFirst(6)), $0.value) })
        imported["step"] = Tensor(shape: [1], scalars: [Float(fixture.int("steps"))])
        let resumed = makeOptimizer(fixture)
        try resumed.loadState(imported, parameters: parameters)
        let copies = parameters.map { (key: $0.key, parameter: Parameter(name: $0.parameter.name, value: $0.parameter.value)) }
        for (original, copy) in zip(parameters, copies) {
            original.parameter.gradient = Tensor(shape: original.parameter.value.shape, repeating: 0.25)
            copy.parameter.gradient = original.parameter.gradient
        }
        // Continuing from our own state and from PyTorch's agrees to within the fixture's rounding.
        optimizer.step(parameters)
        resumed.step(copies)
        for (a, b) in zip(parameters, copies) {
            #expect(relativeError(b.parameter.value, a.parameter.value) < 1e-5)
        }
    }

    // MARK: - Schedules

    @Test func schedulesMatchPyTorch() throws {
        let fixture = try PyTorchFixture.load("schedules")
        let lr = fixture.float("learning_rate"), total = fixture.int("total_steps")
        let stepSize = fixture.int("step_size"), gamma = fixture.float("gamma"), floor = fixture.float("eta_min")
        let schedules: [(String, any LearningRateSchedule)] = [
            ("constant", ConstantSchedule(learningRate: lr)),
            ("step", StepSchedule(learningRate: lr, stepSize: stepSize, gamma: gamma)),
            ("cosine", CosineSchedule(learningRate: lr, minimumLearningRate: floor)),
            ("warmup_cosine", WarmupSchedule(
                warmupSteps: fixture.int("warmup_cosine_steps"), startFactor: fixture.float("warmup_cosine_start_factor"),
                then: CosineSchedule(learningRate: lr, minimumLearningRate: floor))),
            ("warmup_step", WarmupSchedule(
                warmupSteps: fixture.int("warmup_step_steps"), startFactor: fixture.float("warmup_step_start_factor"),
                then: StepSchedule(learningRate: lr, stepSize: stepSize, gamma: gamma))),
        ]
        #expect(Set(fixture.tensors.keys) == Set(schedules.map(\.0)))
        for (name, schedule) in schedules {
            let expected = fixture[name]
            #expect(expected.shape == [total])
            for step in 0..<total {
                let ours = schedule.learningRate(atStep: step, totalSteps: total)
                let theirs = expected.scalars[step]
                #expect(abs(ours - theirs) <= 1e-5 * theirs, "\(name) at step \(step): \(ours) vs PyTorch \(theirs)")
            }
        }
    }
}
