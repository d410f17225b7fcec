// Compiled plans: activations stay in oneDNN's blocked layouts between layers, inference fuses
// Conv → BatchNorm → ReLU, a frozen prefix keeps no backward state, and plans are reused per shape.
import Testing
@testable import NeuralNetwork

@Suite struct PlanTests {
    @Test func activationsStayBlockedAndInferenceFusesConvNormRelu() throws {
        let graph = try Graph(nodes: Architectures.resnet8(), seed: 4, context: ComputeContext(threads: 2))
        let training = Dictionary(uniqueKeysWithValues: try graph.planLayout(for: [4, 1, 28, 28], mode: .training))
        #expect(training["layer1_conv1"]!.contains("blocked"), "\(training["layer1_conv1"]!)")
        #expect(training["layer2_add"]!.contains("blocked"))
        #expect(training["bn1"]!.contains("blocked"))
        #expect(training["relu1"] == "fused into bn1", "training fuses BatchNorm → ReLU")
        #expect(training["layer1_relu2"]!.contains("blocked"), "a ReLU after an Add stays a separate op in training")
        let inference = Dictionary(uniqueKeysWithValues: try graph.planLayout(for: [4, 1, 28, 28], mode: .inference))
        #expect(inference["bn1"] == "fused into conv1" && inference["relu1"] == "fused into conv1")
        #expect(inference["layer1_bn2"] == "fused into layer1_conv2")
        // identity shortcut: conv2 (+ folded bn2) adds into relu1's buffer, and the ReLU after the add follows
        #expect(inference["layer1_add"] == "fused into layer1_conv2" && inference["layer1_relu2"] == "fused into layer1_conv2")
        #expect(inference["layer1_conv2"]!.contains("accumulates into relu1"), "\(inference["layer1_conv2"]!)")
        // projection shortcut: the 1×1 conv, computed after conv2, adds into conv2's result
        #expect(inference["layer2_add"] == "fused into layer2_down_conv")
        #expect(inference["layer2_down_conv"]!.contains("accumulates into layer2_bn2"))
    }

    /// Fused inference against the same graph run op by op (a training-mode forward with every BatchNorm frozen
    /// uses running statistics and is not fused).
    @Test func fusedInferenceMatchesUnfusedComputation() throws {
        let graph = try Graph(nodes: Architectures.resnet8(), seed: 5, context: ComputeContext(threads: 2))
        var g = SeededGenerator(seed: 6)
        for (key, p) in graph.namedParameters() where key.contains("bn") || key.contains("down_bn") {
            for i in p.value.scalars.indices {
                p.value.scalars[i] = p.name == "running_var" ? 0.5 + g.nextUniform() : p.value.scalars[i] + g.nextGaussian() * 0.2
            }
        }
        let x = randomTensor([3, 1, 28, 28], seed: 7)
        let fused = try graph.forward(x, mode: .inference)
        for (key, p) in graph.namedParameters() where key.contains("bn") { p.isFrozen = true }
        let unfused = try graph.forward(x, mode: .training)
        expectClose(fused, unfused, 1e-4, "fused vs op-by-op")
    }

    @Test func frozenPrefixRunsInInferenceAndOnlyTheRestTrains() throws {
        let graph = try Graph(nodes: Architectures.resnet8(), seed: 8, context: ComputeContext(threads: 2))
        for (key, p) in graph.namedParameters() where !key.hasPrefix("layer3") && !key.hasPrefix("fc") { p.isFrozen = true }
        let frozen = graph.frozenPrefix()
        let names = graph.nodes.map(\.name)
        #expect(frozen[names.firstIndex(of: "layer2_relu2")!] && !frozen[names.firstIndex(of: "layer3_conv1")!])
        // the frozen prefix is fused like inference even in a training plan
        let layout = Dictionary(uniqueKeysWithValues: try graph.planLayout(for: [2, 1, 28, 28], mode: .training))
        #expect(layout["layer1_bn1"] == "fused into layer1_conv1")
        #expect(layout["layer3_bn1"]!.contains("blocked"))
        let before = graph.stateDict()
        let x = randomTensor([2, 1, 28, 28], seed: 9)
        let logits = try graph.forward(x, mode: .training)
        let (_, gradient) = SoftmaxCrossEntropy()(logits: logits, labels: [1, 2])
        try graph.backward(gradient)
        for (key, p) in graph.namedParameters() {
            if key.hasPrefix("layer3") || key.hasPrefix("fc") {
                if p.kind == .weight { #expect(p.gradient.scalars.contains { $0 != 0 }, "\(key) has no gradient") }
            } else {
                #expect(p.gradient.scalars.allSatisfy { $0 == 0 }, "\(key) is frozen but got a gradient")
                #expect(p.value == before[key]!, "\(key): running statistics of a frozen part must not move")
            }
        }
    }

    @Test func plansAreCachedPerShapeAndMode() throws {
        let graph = try Graph(nodes: Architectures.resnet8(), context: ComputeContext(threads: 1))
        let a = try graph.plan(for: [2, 1, 28, 28], mode: .training)
        #expect(try graph.plan(for: [2, 1, 28, 28], mode: .training) === a)
        #expect(try graph.plan(for: [3, 1, 28, 28], mode: .training) !== a)
        #expect(try graph.plan(for: [2, 1, 28, 28], mode: .inference) !== a)
        // freezing one BatchNorm in the middle switches it to running statistics: a new plan
        for (key, p) in graph.namedParameters() where key.hasPrefix("layer2_bn1") { p.isFrozen = true }
        #expect(try graph.plan(for: [2, 1, 28, 28], mode: .training) !== a)
    }

    /// Inference folds and reorders weights once and reuses them, yet any change to a convolution's weights, a
    /// folded norm's statistics or a linear layer's weights is seen by the next call.
    @Test func preparedWeightsAreReusedUntilAParameterChanges() throws {
        let graph = try Graph(nodes: Architectures.resnet8(), seed: 10, context: ComputeContext(threads: 1))
        let x = randomTensor([2, 1, 28, 28], seed: 11)
        let first = try graph.forward(x, mode: .inference)
        #expect(try graph.forward(x, mode: .inference) == first, "same weights, same answer")
        let parameters = Dictionary(uniqueKeysWithValues: graph.namedParameters())
        func reference() throws -> Tensor {
            // a fresh graph sharing no compiled state, loaded with the current values
            let fresh = try Graph(nodes: Architectures.resnet8(), seed: 99, context: ComputeContext(threads: 1))
            for (key, p) in fresh.namedParameters() { p.value = parameters[key]!.value }
            return try fresh.forward(x, mode: .inference)
        }
        for key in ["layer2_bn1.running_mean", "layer1_conv2.weight", "fc.weight", "bn1.weight"] {
            let before = try graph.forward(x, mode: .inference)
            let p = parameters[key]!
            for i in p.value.scalars.indices where i % 3 == 0 { p.value.scalars[i] += 0.25 }
            let after = try graph.forward(x, mode: .inference)
            #expect(after != before, "changing \(key) must change the output")
            expectClose(after, try reference(), 1e-5, "after changing \(key)")
        }
    }

    /// EfficientNet-Lite0's inference plan (random weights: the structure is what matters) runs entirely in
    /// oneDNN's layouts: every BatchNorm, ReLU6 and residual Add is fused into a convolution, and a forward pass
    /// after the first runs a single reorder — the input's — with weights folded and reordered once.
    @Test func efficientNetInferenceFusesEverythingAndReordersOnlyTheInput() throws {
        let context = ComputeContext(threads: 1)
        let graph = try Graph(nodes: EfficientNetLite0.nodes(classes: 10), output: EfficientNetLite0.headNode, seed: 12,
                              context: context)
        let shape = [1, 3, 224, 224]
        let layout = try graph.planLayout(for: shape, mode: .inference)
        let ops = Dictionary(uniqueKeysWithValues: graph.nodes.map { ($0.name, $0.op) })
        for (node, where_) in layout where ["BatchNorm2d", "ReLU6", "Add"].contains(ops[node]!) {
            #expect(where_.hasPrefix("fused into"), "\(node) (\(ops[node]!)) runs on its own: \(where_)")
        }
        #expect(layout.filter { ops[$0.node] == "Add" }.count == 9, "EfficientNet-Lite0 has 9 residual adds")
        let x = randomTensor(shape, seed: 13)
        let first = try graph.forward(x, mode: .inference)
        let before = context.reordersRun
        let second = try graph.forward(x, mode: .inference)
        #expect(context.reordersRun - before == 1, "reorders in one warm forward: \(context.reordersRun - before)")
        #expect(first == second)
    }

    /// Every element-wise activation fuses after Conv2d → BatchNorm2d as post-ops of one convolution, which keeps a jit
    /// implementation (a post-op oneDNN could not fuse would leave it on reference code), and gives what the same graph
    /// computes op by op (BatchNorm frozen: running statistics, no fusion).
    @Test(arguments: ["ReLU", "ReLU6", "Sigmoid", "HardSigmoid", "HardSwish", "SiLU", "LeakyReLU", "Clip", "Clip max"])
    func convNormActivationIsOneConvolution(_ name: String) throws {
        let op = String(name.prefix { $0 != " " })
        let attributes: [String: AttributeValue] = name == "Clip" ? ["min": .float(-1), "max": .float(1)]
            : name == "Clip max" ? ["max": .float(0.5)] : name == "LeakyReLU" ? ["negative_slope": .float(0.2)] : [:]
        let nodes = [
            NodeSpec(name: "conv", op: "Conv2d", attributes: ["in_channels": .int(3), "out_channels": .int(16),
                                                             "kernel_size": .int(3), "padding": .int(1)], inputs: ["input"]),
            NodeSpec(name: "bn", op: "BatchNorm2d", attributes: ["num_features": .int(16)], inputs: ["conv"]),
            NodeSpec(name: "act", op: op, attributes: attributes, inputs: ["bn"]),
            NodeSpec(name: "pool", op: "GlobalAvgPool", inputs: ["act"]),
        ]
        let graph = try Graph(nodes: nodes, output: "act", seed: 20, context: ComputeContext(threads: 1))
        let shape = [2, 3, 16, 16]
        let layout = Dictionary(uniqueKeysWithValues: try graph.planLayout(for: shape, mode: .inference))
        #expect(layout["bn"] == "fused into conv" && layout["act"] == "fused into conv", "\(layout)")
        let conv = try #require(try graph.plan(for: shape, mode: .inference).steps[0] as? CompiledConv2d)
        #expect(!conv.forwardPrimitive.descriptor.implementation.hasPrefix("ref"),
                "\(name): \(conv.forwardPrimitive.descriptor.implementation)")
        // wide outputs (weights ×8, a shifted norm) so that every piece of each function is used
        for (key, p) in graph.namedParameters() {
            for i in p.value.scalars.indices {
                switch key {
                case "conv.weight": p.value.scalars[i] *= 8
                case "bn.running_mean": p.value.scalars[i] = Float(i % 5) - 2
                case "bn.running_var": p.value.scalars[i] = 0.5 + Float(i % 3)
                default: break
                }
            }
        }
        let x = randomTensor(shape, seed: 23)
        let fused = try graph.forward(x, mode: .inference)
        for (key, p) in graph.namedParameters() where key.hasPrefix("bn") { p.isFrozen = true }
        expectClose(fused, try graph.forward(x, mode: .training), 1e-5, "\(name): fused vs op by op")
    }

    /// A broadcast Add after Conv2d → BatchNorm2d is not a residual sum: the convolution cannot accumulate into the
    /// smaller N×C×1×1 buffer, so the Add runs on its own (and gives what the graph computes op by op).
    @Test func broadcastAddIsNotFusedAsAResidualSum() throws {
        func conv(_ name: String) -> NodeSpec {
            NodeSpec(name: name, op: "Conv2d", attributes: ["in_channels": .int(3), "out_channels": .int(16),
                                                           "kernel_size": .int(3), "padding": .int(1)], inputs: ["input"])
        }
        let nodes = [
            conv("side"), NodeSpec(name: "pooled", op: "GlobalAvgPool", inputs: ["side"]),
            conv("conv"), NodeSpec(name: "bn", op: "BatchNorm2d", attributes: ["num_features": .int(16)], inputs: ["conv"]),
            NodeSpec(name: "shift", op: "Add", inputs: ["bn", "pooled"]),
            NodeSpec(name: "act", op: "ReLU", inputs: ["shift"]),
        ]
        let graph = try Graph(nodes: nodes, seed: 24, context: ComputeContext(threads: 1))
        let shape = [2, 3, 8, 8]
        let layout = Dictionary(uniqueKeysWithValues: try graph.planLayout(for: shape, mode: .inference))
        #expect(layout["bn"] == "fused into conv")
        #expect(layout["shift"]!.contains("blocked") && !layout["conv"]!.contains("accumulates"), "\(layout)")
        let x = randomTensor(shape, seed: 25)
        let fused = try graph.forward(x, mode: .inference)
        for (key, p) in graph.namedParameters() where key.hasPrefix("bn") { p.isFrozen = true }
        expectClose(fused, try graph.forward(x, mode: .training), 1e-5, "broadcast add: inference vs op by op")
    }

    /// A MobileNetV3 block's squeeze-and-excitation (global pool → conv → ReLU → conv → HardSigmoid → Mul with the
    /// trunk, the gate in either input order) runs in oneDNN's layouts: the gate's N×C×1×1 result is already in the
    /// trunk's blocked layout, so a warm forward runs one reorder, the input's, in inference and in training.
    @Test(arguments: [false, true])
    func squeezeExcitationAddsNoReorder(gateFirst: Bool) throws {
        func conv(_ name: String, _ input: String, _ cin: Int, _ cout: Int, kernel: Int = 1, stride: Int = 1,
                  groups: Int = 1) -> NodeSpec {
            NodeSpec(name: name, op: "Conv2d", attributes: [
                "in_channels": .int(cin), "out_channels": .int(cout), "kernel_size": .int(kernel), "stride": .int(stride),
                "padding": .int(kernel / 2), "groups": .int(groups)], inputs: [input])
        }
        func bn(_ name: String, _ input: String, _ c: Int) -> NodeSpec {
            NodeSpec(name: name, op: "BatchNorm2d", attributes: ["num_features": .int(c)], inputs: [input])
        }
        let nodes = [
            conv("stem", "input", 3, 16, kernel: 3, stride: 2), bn("stem_bn", "stem", 16),
            NodeSpec(name: "stem_act", op: "HardSwish", inputs: ["stem_bn"]),
            conv("dw", "stem_act", 16, 16, kernel: 3, groups: 16), bn("dw_bn", "dw", 16),
            NodeSpec(name: "dw_act", op: "ReLU", inputs: ["dw_bn"]),
            NodeSpec(name: "se_pool", op: "GlobalAvgPool", inputs: ["dw_act"]),
            conv("se_reduce", "se_pool", 16, 8), NodeSpec(name: "se_relu", op: "ReLU", inputs: ["se_reduce"]),
            conv("se_expand", "se_relu", 8, 16), NodeSpec(name: "se_gate", op: "HardSigmoid", inputs: ["se_expand"]),
            NodeSpec(name: "se_mul", op: "Mul", inputs: gateFirst ? ["se_gate", "dw_act"] : ["dw_act", "se_gate"]),
            conv("project", "se_mul", 16, 24), bn("project_bn", "project", 24),
            NodeSpec(name: "pool", op: "GlobalAvgPool", inputs: ["project_bn"]),
        ]
        let context = ComputeContext(threads: 1)
        let graph = try Graph(nodes: nodes, seed: 21, context: context)
        let shape = [2, 3, 32, 32]
        let layout = Dictionary(uniqueKeysWithValues: try graph.planLayout(for: shape, mode: .inference))
        #expect(layout["stem_act"] == "fused into stem" && layout["se_gate"] == "fused into se_expand")
        #expect(layout["se_mul"]!.contains("blocked"), "\(layout["se_mul"]!)")
        let mul = try #require(try graph.plan(for: shape, mode: .inference).steps[11] as? CompiledBroadcastBinary)
        #expect(!mul.primitive.descriptor.implementation.hasPrefix("ref"), "\(mul.primitive.descriptor.implementation)")
        let x = randomTensor(shape, seed: 22)
        for mode in [Mode.inference, .training] {
            _ = try graph.forward(x, mode: mode)
            let before = context.reordersRun
            _ = try graph.forward(x, mode: mode)
            #expect(context.reordersRun - before == 1, "\(mode): \(context.reordersRun - before) reorders in a warm forward")
        }
    }

    /// A GoogLeNet-like stem and inception block (ceil-mode max pools, LRN, four branches concatenated) keeps
    /// every activation in oneDNN's layouts: a warm inference forward runs one reorder, the input's.
    @Test func inceptionBlockWithLRNAndCeilPoolsReordersOnlyTheInput() throws {
        func conv(_ name: String, _ input: String, _ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1)
            -> [NodeSpec] {
            [NodeSpec(name: name, op: "Conv2d", attributes: [
                "in_channels": .int(inChannels), "out_channels": .int(outChannels), "kernel_size": .int(kernel),
                "stride": .int(stride), "padding": .int(kernel / 2), "bias": .bool(false)], inputs: [input]),
             NodeSpec(name: name + "_bn", op: "BatchNorm2d", attributes: ["num_features": .int(outChannels)], inputs: [name]),
             NodeSpec(name: name + "_relu", op: "ReLU", inputs: [name + "_bn"])]
        }
        func maxPool(_ name: String, _ input: String, stride: Int, padding: Int = 0) -> NodeSpec {
            NodeSpec(name: name, op: "MaxPool2d", attributes: ["kernel_size": .int(3), "stride": .int(stride),
                                                               "padding": .int(padding), "ceil_mode": .bool(true)],
                     inputs: [input])
        }
        var nodes = conv("stem", "input", 3, 16, kernel: 7, stride: 2)
        nodes.append(maxPool("pool1", "stem_relu", stride: 2))
        nodes.append(NodeSpec(name: "lrn1", op: "LRN", attributes: ["size": .int(5)], inputs: ["pool1"]))
        nodes += conv("b1", "lrn1", 16, 16, kernel: 1)
        nodes += conv("b2_reduce", "lrn1", 16, 16, kernel: 1) + conv("b2", "b2_reduce_relu", 16, 32, kernel: 3)
        nodes += conv("b3_reduce", "lrn1", 16, 16, kernel: 1) + conv("b3", "b3_reduce_relu", 16, 16, kernel: 3)
        nodes.append(maxPool("b4_pool", "lrn1", stride: 1, padding: 1))
        nodes += conv("b4", "b4_pool", 16, 16, kernel: 1)
        nodes.append(NodeSpec(name: "cat", op: "Concat", attributes: ["dim": .int(1)],
                              inputs: ["b1_relu", "b2_relu", "b3_relu", "b4_relu"]))
        nodes.append(maxPool("pool2", "cat", stride: 2))
        nodes.append(NodeSpec(name: "gap", op: "GlobalAvgPool", inputs: ["pool2"]))
        let context = ComputeContext(threads: 1)
        let graph = try Graph(nodes: nodes, seed: 15, context: context)
        let shape = [1, 3, 32, 32]
        let layout = Dictionary(uniqueKeysWithValues: try graph.planLayout(for: shape, mode: .inference))
        for node in ["pool1", "lrn1", "b4_pool", "cat", "pool2"] {
            #expect(layout[node]!.contains("blocked"), "\(node) left oneDNN's layouts: \(layout[node]!)")
        }
        // 32 → 16 (stem) → 8 (ceil: ⌈13/2⌉ + 1; floor would give 7) → 4 after pool2 (floor: 3)
        let shapes = try graph.shapes(for: shape)
        #expect(shapes[graph.nodes.firstIndex { $0.name == "pool1" }!] == [1, 16, 8, 8])
        #expect(shapes[graph.nodes.firstIndex { $0.name == "pool2" }!] == [1, 80, 4, 4])
        let x = randomTensor(shape, seed: 16)
        let first = try graph.forward(x, mode: .inference)
        let before = context.reordersRun
        let second = try graph.forward(x, mode: .inference)
        #expect(context.reordersRun - before == 1, "reorders in one warm forward: \(context.reordersRun - before)")
        #expect(first == second)
    }

    /// ShuffleNetV2's channel shuffle and a constant Pad keep the layout the convolution before them chose (Pad
    /// copies into a buffer of the same layout, which is not a layout change).
    @Test func channelShuffleAndPadStayInTheirInputsLayout() throws {
        let nodes = [
            NodeSpec(name: "conv", op: "Conv2d", attributes: ["in_channels": .int(3), "out_channels": .int(32),
                                                             "kernel_size": .int(3), "padding": .int(1)], inputs: ["input"]),
            NodeSpec(name: "shuffle", op: "ChannelShuffle", attributes: ["groups": .int(2)], inputs: ["conv"]),
            NodeSpec(name: "pad", op: "Pad", attributes: ["pads": .ints([1, 0, 0, 1]), "value": .float(-1)],
                     inputs: ["shuffle"]),
            NodeSpec(name: "pool", op: "MaxPool2d", attributes: ["kernel_size": .int(2), "ceil_mode": .bool(true)],
                     inputs: ["pad"]),
        ]
        let context = ComputeContext(threads: 1)
        let graph = try Graph(nodes: nodes, seed: 17, context: context)
        let shape = [2, 3, 10, 10]
        let layout = Dictionary(uniqueKeysWithValues: try graph.planLayout(for: shape, mode: .inference))
        for node in ["conv", "shuffle", "pad", "pool"] {
            #expect(layout[node]!.contains("blocked"), "\(node) left oneDNN's layouts: \(layout[node]!)")
        }
        let x = randomTensor(shape, seed: 18)
        let first = try graph.forward(x, mode: .inference)
        #expect(first.shape == [2, 32, 6, 6], "10 + 1 padded → 11, ceil(11/2) = 6")
        let before = context.reordersRun
        #expect(try graph.forward(x, mode: .inference) == first)
        // the plan's two edges only: the input into the convolution's layout and the pooled result back to plain
        #expect(context.reordersRun - before == 2, "reorders in one warm forward: \(context.reordersRun - before)")
    }

    /// Arena placement: buffers alive at the same step never share bytes; buffers that are not do.
    @Test func arenaPlacementNeverOverlapsLiveBuffers() {
        typealias L = ActivationArena.Lifetime
        // a chain a → b → c: a and c may share, b sits beside them
        let chain = ActivationArena.place([L(bytes: 100, first: 0, last: 1), L(bytes: 100, first: 1, last: 2),
                                           L(bytes: 100, first: 2, last: 3)])
        #expect(chain.offsets[0] == chain.offsets[2] && chain.offsets[1] != chain.offsets[0])
        #expect(chain.size == 256, "two 64-byte-aligned slots of 100 bytes")
        var generator = SeededGenerator(seed: 14)
        for _ in 0..<200 {
            let lifetimes = (0..<Int(generator.next() % 12 + 1)).map { _ -> L in
                let first = Int(generator.next() % 20)
                return L(bytes: Int(generator.next() % 5000 + 1), first: first, last: first + Int(generator.next() % 6))
            }
            let (offsets, size) = ActivationArena.place(lifetimes)
            for i in lifetimes.indices {
                #expect(offsets[i] % ActivationArena.alignment == 0 && offsets[i] + lifetimes[i].bytes <= size)
                for j in lifetimes.indices where j > i && lifetimes[i].overlaps(lifetimes[j]) {
                    let apart = offsets[i] + lifetimes[i].bytes <= offsets[j] || offsets[j] + lifetimes[j].bytes <= offsets[i]
                    #expect(apart, "\(lifetimes[i]) at \(offsets[i]) and \(lifetimes[j]) at \(offsets[j])")
                }
            }
            #expect(size <= lifetimes.reduce(0) { $0 + ($1.bytes + 63) / 64 * 64 })
        }
    }

    /// The shared arena gives bit-identical results to separate buffers, on EfficientNet-Lite0's graph (residual
    /// adds accumulating in place, 1×1 and depthwise convolutions) and on ResNet-8 (blocked layouts), while needing
    /// a fraction of the memory.
    @Test func sharedActivationStorageGivesTheSameResults() throws {
        // (the ResNet's shortcuts keep more results alive at once than EfficientNet's chain of blocks)
        for (nodes, head, shape, saving) in [
            (EfficientNetLite0.nodes(classes: 10), EfficientNetLite0.headNode, [2, 3, 96, 96], 3),
            (Architectures.resnet8(), "fc", [3, 1, 28, 28], 1.5),
        ] as [([NodeSpec], String, [Int], Double)] {
            let shared = try Graph(nodes: nodes, output: head, seed: 15, context: ComputeContext(threads: 1))
            let separate = try Graph(nodes: nodes, output: head, seed: 15, context: ComputeContext(threads: 1))
            separate.sharesInferenceStorage = false
            for seed in [16, 17] as [UInt64] {
                let x = randomTensor(shape, seed: seed)
                #expect(try shared.forward(x, mode: .inference) == separate.forward(x, mode: .inference))
            }
            let arena = try #require(try shared.plan(for: shape, mode: .inference).arena)
            #expect(Double(arena.bytes) * saving < Double(arena.separateBytes),
                    "arena \(arena.bytes) of \(arena.separateBytes) bytes")
            #expect(try separate.plan(for: shape, mode: .inference).arena == nil)
        }
    }
}

/// Large inference batches run in sub-batches that fit the arena budget, with the same results as one plan run.
@Suite struct SubBatchTests {
    @Test func largeInferenceBatchesRunInSubBatchesWithTheSameResults() throws {
        let graph = try Graph(nodes: EfficientNetLite0.nodes(classes: 7), output: EfficientNetLite0.headNode, seed: 18,
                              context: ComputeContext(threads: 1))
        let x = randomTensor([7, 3, 64, 64], seed: 19)
        graph.inferenceArenaBudget = Int.max
        let whole = try graph.forward(x, mode: .inference)
        let perImage = try #require(try graph.plan(for: [1, 3, 64, 64], mode: .inference).arena).bytes
        graph.inferenceArenaBudget = perImage * 3  // sub-batches of at most 3: 3, 2, 2
        _ = try graph.forward(x, mode: .inference)  // compiles the plans for 3 and 2
        let before = graph.context.reordersRun
        let split = try graph.forward(x, mode: .inference)
        #expect(graph.context.reordersRun - before == 3, "one input reorder per sub-batch")
        #expect(split.shape == [7, 7])
        expectClose(split, whole, 1e-5, "sub-batched vs whole")
        // each image alone gives its own row
        for n in [0, 6] {
            let one = Tensor(shape: [1, 3, 64, 64], scalars: Array(x.scalars[(n * 3 * 64 * 64)..<((n + 1) * 3 * 64 * 64)]))
            expectClose(try graph.forward(one, mode: .inference),
                        Tensor(shape: [1, 7], scalars: Array(split.scalars[(n * 7)..<((n + 1) * 7)])), 1e-5, "image \(n)")
        }
    }
}
