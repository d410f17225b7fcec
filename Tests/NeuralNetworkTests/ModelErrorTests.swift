// Impossible configurations are ModelErrors raised when the graph is built, naming the layer and the shapes,
// never a oneDNN failure.
import Testing
@testable import NeuralNetwork

@Suite struct ModelErrorTests {
    static func build(_ nodes: [NodeSpec], input: [Int]) throws {
        _ = try Graph(nodes: nodes, inputShape: input, context: ComputeContext(threads: 1))
    }

    static func conv(_ name: String, _ attributes: [String: AttributeValue], inputs: [String] = ["input"]) -> NodeSpec {
        NodeSpec(name: name, op: "Conv2d", attributes: attributes, inputs: inputs)
    }

    @Test func kernelLargerThanPaddedInput() {
        let error = #expect(throws: ModelError.self) {
            try Self.build([Self.conv("stem", ["in_channels": .int(3), "out_channels": .int(8), "kernel_size": .int(7)])],
                           input: [1, 3, 5, 5])
        }
        #expect(error?.message.contains("Conv2d 'stem'") == true)
        #expect(error?.message.contains("[1, 3, 5, 5]") == true)
        #expect(error?.message.contains("kernel is larger than the padded input") == true)
    }

    @Test func channelsNotDivisibleByGroups() {
        let error = #expect(throws: ModelError.self) {
            try Self.build([Self.conv("dw", ["in_channels": .int(6), "out_channels": .int(8), "kernel_size": .int(3),
                                             "groups": .int(4)])], input: [1, 6, 8, 8])
        }
        #expect(error?.message.contains("divisible by groups") == true)
    }

    @Test func zeroStride() {
        let error = #expect(throws: ModelError.self) {
            try Self.build([Self.conv("c", ["in_channels": .int(3), "out_channels": .int(8), "kernel_size": .int(3),
                                            "stride": .int(0)])], input: [1, 3, 8, 8])
        }
        #expect(error?.message.contains("stride") == true)
    }

    @Test func wrongInputChannels() {
        let error = #expect(throws: ModelError.self) {
            try Self.build([Self.conv("c", ["in_channels": .int(3), "out_channels": .int(8), "kernel_size": .int(3)])],
                           input: [1, 1, 8, 8])
        }
        #expect(error?.message.contains("input has 1 channels, expected 3") == true)
    }

    @Test func addShapeMismatch() {
        let error = #expect(throws: ModelError.self) {
            try Self.build([
                Self.conv("a", ["in_channels": .int(3), "out_channels": .int(8), "kernel_size": .int(3)]),
                Self.conv("b", ["in_channels": .int(3), "out_channels": .int(8), "kernel_size": .int(1)]),
                NodeSpec(name: "sum", op: "Add", inputs: ["a", "b"]),
            ], input: [2, 3, 8, 8])
        }
        #expect(error?.message == "Add 'sum' needs two inputs of the same shape or shapes that broadcast (on each axis equal "
            + "extents, or 1 in one of them), got [2, 8, 6, 6] and [2, 8, 8, 8]")
    }

    @Test func concatShapeMismatch() {
        let error = #expect(throws: ModelError.self) {
            try Self.build([
                Self.conv("a", ["in_channels": .int(3), "out_channels": .int(8), "kernel_size": .int(3)]),
                NodeSpec(name: "cat", op: "Concat", inputs: ["a", "input"]),
            ], input: [2, 3, 8, 8])
        }
        #expect(error?.message.contains("Concat 'cat'") == true)
        #expect(error?.message.contains("[2, 8, 6, 6], [2, 3, 8, 8]") == true)
    }

    @Test func graphStructureErrors() {
        #expect(throws: ModelError("node 'b' reads 'zzz', which is not an earlier node or 'input'")) {
            try Self.build([NodeSpec(name: "b", op: "ReLU", inputs: ["zzz"])], input: [1, 1, 2, 2])
        }
        #expect(throws: ModelError("two nodes are named 'r'")) {
            try Self.build([NodeSpec(name: "r", op: "ReLU", inputs: ["input"]), NodeSpec(name: "r", op: "ReLU", inputs: ["r"])],
                           input: [1, 1, 2, 2])
        }
        let unknown = #expect(throws: ModelError.self) {
            try Self.build([NodeSpec(name: "x", op: "Transformer", inputs: ["input"])], input: [1, 1, 2, 2])
        }
        #expect(unknown?.message.hasPrefix("node 'x': unknown op 'Transformer'") == true)
        let missing = #expect(throws: ModelError.self) {
            try Self.build([Self.conv("c", ["out_channels": .int(8), "kernel_size": .int(3)])], input: [1, 3, 8, 8])
        }
        #expect(missing?.message == "node 'c': attribute 'in_channels' must be an integer, found nothing")
    }

    /// An attribute the op does not take (a misspelling, or another op's) is refused, not left at its default.
    @Test func unknownAttributesAreRefusedNamingWhatTheOpTakes() {
        let misspelt = #expect(throws: ModelError.self) {
            try Self.build([Self.conv("c", ["in_channels": .int(3), "out_channels": .int(8), "kernal_size": .int(3),
                                            "kernel_size": .int(3)])], input: [1, 3, 8, 8])
        }
        #expect(misspelt?.message.hasPrefix("node 'c' (Conv2d): unknown attribute 'kernal_size'; it takes ") == true,
                "\(misspelt?.message ?? "")")
        #expect(misspelt?.message.contains("kernel_size") == true && misspelt?.message.contains("stride") == true)
        #expect(throws: ModelError("node 'r' (ReLU): unknown attribute 'inplace'; it takes no attributes")) {
            try Self.build([NodeSpec(name: "r", op: "ReLU", attributes: ["inplace": .bool(true)], inputs: ["input"])],
                           input: [1, 1, 2, 2])
        }
        // count_include_pad belongs to average pooling: on a max pool it would be silently meaningless
        let pool = #expect(throws: ModelError.self) {
            try Self.build([NodeSpec(name: "p", op: "MaxPool2d", attributes: ["kernel_size": .int(2),
                                                                              "count_include_pad": .bool(false)],
                                     inputs: ["input"])], input: [1, 1, 4, 4])
        }
        #expect(pool?.message.hasPrefix("node 'p' (MaxPool2d): unknown attribute 'count_include_pad'") == true)
    }

    /// Bad attributes of the element-wise ops name the node, the attribute and what was found.
    @Test(arguments: [
        ("Clip", ["min": AttributeValue.float(3), "max": .float(1)],
         "Clip 'act': min 3.0 is greater than max 1.0 (give min ≤ max, or leave one out for no bound on that side)"),
        ("LeakyReLU", ["negative_slope": .string("0.1")],
         "node 'act': attribute 'negative_slope' must be a number, found the string \"0.1\""),
        ("HardSigmoid", ["alpha": .bool(true)], "node 'act': attribute 'alpha' must be a number, found true"),
        ("Clip", ["max": .ints([1, 2])], "node 'act': attribute 'max' must be a number, found [1, 2]"),
    ] as [(String, [String: AttributeValue], String)])
    func elementwiseAttributeErrorsNameTheNode(op: String, attributes: [String: AttributeValue], message: String) {
        #expect(throws: ModelError(message)) {
            try Self.build([NodeSpec(name: "act", op: op, attributes: attributes, inputs: ["input"])], input: [1, 3, 4, 4])
        }
    }

    @Test func elementwiseAttributesDefaultAsPyTorch() throws {
        var g = SeededGenerator(seed: 0)
        let leaky = try #require(try LayerFactory.make(NodeSpec(name: "l", op: "LeakyReLU", inputs: ["input"]), generator: &g)
            as? LeakyReLU)
        #expect(leaky.negativeSlope == 0.01)
        let hard = try #require(try LayerFactory.make(NodeSpec(name: "h", op: "HardSigmoid", inputs: ["input"]), generator: &g)
            as? HardSigmoid)
        #expect(hard.alpha == 1.0 / 6 && hard.beta == 0.5)
        let clip = try #require(try LayerFactory.make(NodeSpec(name: "c", op: "Clip", attributes: ["min": .int(0)],
                                                               inputs: ["input"]), generator: &g) as? Clip)
        #expect(clip.minimum == 0 && clip.maximum == nil && clip.attributes == ["min": .float(0)])
    }

    @Test func mulShapesThatDoNotBroadcast() {
        let conv = Self.conv("a", ["in_channels": .int(3), "out_channels": .int(8), "kernel_size": .int(1)])
        let mismatch = #expect(throws: ModelError.self) {
            try Self.build([conv, NodeSpec(name: "gate", op: "Mul", inputs: ["a", "input"])], input: [2, 3, 4, 4])
        }
        #expect(mismatch?.message == "Mul 'gate' needs two inputs of the same shape or shapes that broadcast (on each "
            + "axis equal extents, or 1 in one of them), got [2, 8, 4, 4] and [2, 3, 4, 4]")
        let rank = #expect(throws: ModelError.self) {
            try Self.build([NodeSpec(name: "f", op: "Flatten", inputs: ["input"]),
                            NodeSpec(name: "gate", op: "Mul", inputs: ["f", "input"])], input: [2, 3, 4, 4])
        }
        #expect(rank?.message.hasPrefix("Mul 'gate' broadcasts inputs of equal rank only, got [2, 48] and [2, 3, 4, 4]") == true)
    }

    @Test func linearNeedsFlatten() {
        let error = #expect(throws: ModelError.self) {
            try Self.build([NodeSpec(name: "fc", op: "Linear", attributes: ["in_features": .int(12), "out_features": .int(2)],
                                     inputs: ["input"])], input: [2, 3, 2, 2])
        }
        #expect(error?.message.contains("put a Flatten before it") == true)
    }

    /// Impossible attributes of the structural layers: (op, attributes, input shape, text the message must hold);
    /// every message names the node.
    static let impossibleAttributes: [(String, [String: AttributeValue], [Int], String)] = [
        ("Pad", ["pads": .ints([1, -1, 0, 0])], [1, 3, 4, 4], "must be non-negative"),
        ("Pad", ["pads": .ints([1, 1])], [1, 3, 4, 4], "'pads' must be a list of 4 integers"),
        ("Pad", ["pads": .ints([1, 1, 1, 1]), "mode": .string("reflect")], [1, 3, 4, 4], "mode 'reflect' is not supported"),
        ("LRN", ["size": .int(4)], [1, 8, 4, 4], "size 4 is not supported"),
        ("LRN", ["size": .int(5), "k": .float(0)], [1, 8, 4, 4], "k must be positive"),
        ("LRN", [:], [1, 8, 4, 4], "'size' must be an integer"),
        ("ChannelShuffle", ["groups": .int(3)], [1, 8, 4, 4], "groups 3 must be positive and divide the 8 channels"),
        ("Concat", ["dim": .int(0)], [1, 8, 4, 4], "dim 0 must name an axis after the batch axis"),
        ("Concat", ["dim": .int(4)], [1, 8, 4, 4], "dim 4 must name an axis after the batch axis"),
        ("Softmax", ["dim": .int(4)], [1, 8, 4, 4], "dim 4 is not an axis"),
        ("Flatten", ["start_dim": .int(3), "end_dim": .int(2)], [1, 8, 4, 4], "start_dim ≤ end_dim"),
        ("Flatten", ["start_dim": .int(5)], [1, 8, 4, 4], "must be axes of its input"),
        ("MaxPool2d", ["kernel_size": .int(3), "dilation": .int(3)], [1, 8, 6, 6], "cannot pool input [1, 8, 6, 6]"),
        ("MaxPool2d", ["kernel_size": .int(2), "padding": .int(2), "ceil_mode": .bool(true)], [1, 8, 6, 6],
         "padding smaller than the dilated kernel"),
        ("MaxPool2d", ["kernel_size": .int(2), "ceil_mode": .string("yes")], [1, 8, 6, 6], "'ceil_mode' must be true or false"),
        ("AvgPool2d", ["kernel_size": .int(2), "dilation": .int(2)], [1, 8, 6, 6], "dilation [2, 2] is not supported"),
    ]

    @Test(arguments: impossibleAttributes.indices)
    func impossibleStructuralAttributesNameTheNode(_ row: Int) {
        let (op, attributes, input, text) = Self.impossibleAttributes[row]
        let error = #expect(throws: ModelError.self) {
            try Self.build([NodeSpec(name: "bad_node", op: op, attributes: attributes, inputs: ["input", "input"]
                                        .prefix(op == "Concat" ? 2 : 1).map { $0 })], input: input)
        }
        #expect(error?.message.contains("'bad_node'") == true, "\(op): \(error?.message ?? "no error")")
        #expect(error?.message.contains(text) == true, "\(op): \(error?.message ?? "no error")")
    }
}
