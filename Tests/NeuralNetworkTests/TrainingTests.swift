// A tiny network trained from scratch learns a separable synthetic problem, and training is reproducible:
// the same seed and thread count give bit-identical weights.
import Testing
@testable import NeuralNetwork

@Suite struct TrainingTests {
    /// 1×10×10 images; the class (0…3) is the quadrant holding a bright 3×3 blob, on Gaussian noise.
    static func dataset(count: Int, seed: UInt64) -> (Tensor, [Int]) {
        var g = SeededGenerator(seed: seed)
        var pixels = [Float](repeating: 0, count: count * 100), labels: [Int] = []
        for n in 0..<count {
            let label = Int(g.next() % 4)
            labels.append(label)
            for i in 0..<100 { pixels[n * 100 + i] = g.nextGaussian() * 0.3 }
            let top = (label / 2) * 5 + Int(g.next() % 3), left = (label % 2) * 5 + Int(g.next() % 3)
            for dy in 0..<3 { for dx in 0..<3 { pixels[n * 100 + (top + dy) * 10 + left + dx] += 1.5 } }
        }
        return (Tensor(shape: [count, 1, 10, 10], scalars: pixels), labels)
    }

    static let nodes: [NodeSpec] = [
        NodeSpec(name: "conv1", op: "Conv2d", attributes: ["in_channels": .int(1), "out_channels": .int(8),
                                                          "kernel_size": .int(3), "padding": .int(1)], inputs: ["input"]),
        NodeSpec(name: "bn1", op: "BatchNorm2d", attributes: ["num_features": .int(8)], inputs: ["conv1"]),
        NodeSpec(name: "relu1", op: "ReLU", inputs: ["bn1"]),
        NodeSpec(name: "pool1", op: "MaxPool2d", attributes: ["kernel_size": .int(2)], inputs: ["relu1"]),
        NodeSpec(name: "conv2", op: "Conv2d", attributes: ["in_channels": .int(8), "out_channels": .int(16),
                                                          "kernel_size": .int(3), "padding": .int(1)], inputs: ["pool1"]),
        NodeSpec(name: "relu2", op: "ReLU", inputs: ["conv2"]),
        NodeSpec(name: "pool2", op: "AvgPool2d", attributes: ["kernel_size": .int(5)], inputs: ["relu2"]),
        NodeSpec(name: "flatten", op: "Flatten", inputs: ["pool2"]),
        NodeSpec(name: "drop", op: "Dropout", attributes: ["p": .float(0.1), "seed": .int(5)], inputs: ["flatten"]),
        NodeSpec(name: "fc", op: "Linear", attributes: ["in_features": .int(16), "out_features": .int(4)], inputs: ["drop"]),
    ]

    /// Trains with plain momentum SGD (written here: the library's optimizers are tested on their own) and
    /// returns the graph and its held-out accuracy.
    static func train(seed: UInt64, threads: Int, steps: Int = 120) throws -> (Graph, Double) {
        let graph = try Graph(nodes: nodes, seed: seed, inputShape: [32, 1, 10, 10], context: ComputeContext(threads: threads))
        let (x, labels) = dataset(count: 32 * steps, seed: seed &+ 1)
        let loss = SoftmaxCrossEntropy(labelSmoothing: 0.05)
        var velocity: [String: [Float]] = [:]
        for step in 0..<steps {
            let batch = Tensor(shape: [32, 1, 10, 10], scalars: Array(x.scalars[(step * 3200)..<((step + 1) * 3200)]))
            let logits = try graph.forward(batch, mode: .training)
            let (_, gradient) = loss(logits: logits, labels: Array(labels[(step * 32)..<((step + 1) * 32)]))
            for (_, p) in graph.namedParameters() { p.zeroGradient() }
            try graph.backward(gradient)
            for (key, p) in graph.namedParameters() where p.isTrainable {
                var v = velocity[key] ?? [Float](repeating: 0, count: p.value.count)
                for i in v.indices {
                    v[i] = 0.9 * v[i] + p.gradient.scalars[i]
                    p.value.scalars[i] -= 0.05 * v[i]
                }
                velocity[key] = v
            }
        }
        let (testX, testLabels) = dataset(count: 400, seed: seed &+ 99)
        let logits = try graph.forward(testX, mode: .inference)
        var correct = 0
        for n in 0..<400 {
            let row = logits.scalars[(n * 4)..<((n + 1) * 4)]
            if row.firstIndex(of: row.max()!)! - n * 4 == testLabels[n] { correct += 1 }
        }
        return (graph, Double(correct) / 400)
    }

    @Test func learnsSeparableProblemAndIsReproducible() throws {
        let (first, accuracy) = try Self.train(seed: 3, threads: 2)
        #expect(accuracy >= 0.95, "held-out accuracy \(accuracy)")
        let (second, accuracy2) = try Self.train(seed: 3, threads: 2)
        #expect(accuracy2 == accuracy)
        for ((key, a), (_, b)) in zip(first.namedParameters(), second.namedParameters()) {
            #expect(a.value.scalars == b.value.scalars, "\(key) differs between two runs with the same seed")
        }
    }

    @Test func resnet8ShapesAndParameterNames() throws {
        let graph = try Graph(nodes: Architectures.resnet8(), inputShape: [2, 1, 28, 28], context: ComputeContext(threads: 1))
        let shapes = try graph.shapes(for: [2, 1, 28, 28])
        #expect(shapes.last == [2, 10])
        let keys = graph.namedParameters().map(\.key)
        #expect(keys.prefix(5) == ["conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var"])
        #expect(keys.contains("layer2_down_conv.weight") && keys.last == "fc.bias")
        // stem 144 + 32; block1 2·2304 + 2·32; block2 4608 + 9216 + 512 + 3·64; block3 18432 + 36864 + 2048 + 3·128;
        // fc 650: 77 754 trainable scalars (as PyTorch counts the same network)
        let trainable = graph.namedParameters().filter { $0.parameter.kind == .weight }.map { $0.parameter.value.count }
        #expect(trainable.reduce(0, +) == 77_754)
    }
}
