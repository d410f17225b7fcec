import Foundation

/// Times Graft's own compiled layers (forward, backward-data, backward-weights) with activations in the
/// layouts oneDNN chose, as inside a plan: the kernel rate a training step sees, edges excluded.
public enum LayerBenchmark {
    /// Seconds per call of each pass (best of three timed rounds).
    public struct Timing: Sendable {
        public var forward: Double
        public var backwardData: Double
        public var backwardWeights: Double
    }

    /// Multiply-adds × 2 of one convolution pass on `inputShape`.
    public static func flops(_ conv: Conv2d, inputShape: [Int]) throws -> Double {
        let output = try conv.outputShape(for: [inputShape], node: "benchmark")
        return 2 * Double(conv.macs(for: [inputShape], output: output))
    }

    public static func convolution(_ conv: Conv2d, inputShape: [Int], context: ComputeContext,
                                   minimumSeconds: Double = 0.3) throws -> Timing {
        // Learn the source layout the forward convolution prefers, then compile for it (as after another conv).
        let probe = try CompiledConv2d(
            layer: conv, input: .plain(inputShape), outputDims: try conv.outputShape(for: [inputShape], node: "probe"),
            options: CompileOptions(mode: .training, needsInputGradient: false, needsBackward: false, context: context))
        let layout = probe.sourceAdapter.target
        let x = try Memory(layout)
        var generator = SeededGenerator(seed: 1)
        try x.write(Tensor(shape: inputShape, scalars: (0..<inputShape.reduce(1, *)).map { _ in generator.nextGaussian() }),
                    context: context)
        func compile(inputGradient: Bool, backward: Bool) throws -> CompiledLayer {
            try conv.compile(inputs: [layout], options: CompileOptions(
                mode: .training, needsInputGradient: inputGradient, needsBackward: backward, context: context))
        }
        let forward = try compile(inputGradient: false, backward: false)
        let forwardTime = try time(minimumSeconds) { _ = try forward.forward([x]) }
        let dy = try Memory(forward.output)
        try dy.write(Tensor(shape: dy.dims, scalars: (0..<dy.descriptor.elementCount).map { _ in generator.nextGaussian() }),
                     context: context)

        let frozen = conv.parameters.map(\.isFrozen)
        defer { for (p, f) in zip(conv.parameters, frozen) { p.isFrozen = f } }
        for p in conv.parameters { p.isFrozen = true }
        let data = try compile(inputGradient: true, backward: true)
        _ = try data.forward([x])
        let dataTime = try time(minimumSeconds) { _ = try data.backward(dy) }

        for p in conv.parameters { p.isFrozen = false }
        let weights = try compile(inputGradient: false, backward: true)
        _ = try weights.forward([x])
        let weightsTime = try time(minimumSeconds) { _ = try weights.backward(dy) }
        for p in conv.parameters { p.zeroGradient() }
        return Timing(forward: forwardTime, backwardData: dataTime, backwardWeights: weightsTime)
    }

    /// Best mean seconds per call over three rounds of at least `minimumSeconds / 3` each (after a warm-up call).
    public static func time(_ minimumSeconds: Double, _ body: () throws -> Void) throws -> Double {
        try body()
        var best = Double.infinity
        for _ in 0..<3 {
            var calls = 0
            let start = DispatchTime.now().uptimeNanoseconds
            var elapsed = 0.0
            repeat {
                try body()
                calls += 1
                elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            } while elapsed < minimumSeconds / 3
            best = min(best, elapsed / Double(calls))
        }
        return best
    }
}
