/// Times a model's inference plan on random inputs of its input shape: what `graft bench inference` reports.
import Foundation
import Tensors

public enum InferenceBenchmark {
    /// One batch size's figures: per-forward milliseconds (median and spread), runs timed, and the reorders one
    /// forward pass runs (1 for a plan whose only reorder is its input's).
    public struct Result: Sendable {
        public var batch: Int
        public var medianMilliseconds: Double
        public var p10Milliseconds: Double
        public var p90Milliseconds: Double
        public var runs: Int
        public var reordersPerForward: Int
        public var imagesPerSecond: Double { Double(batch) / medianMilliseconds * 1000 }
    }

    /// Compiles and warms the plan for `inputShape` (three forwards), then times forwards for `seconds` (at least
    /// five). `generator` fills the input.
    public static func run(_ graph: Graph, inputShape: [Int], seconds: Double,
                           generator: inout SeededGenerator) throws -> Result {
        let x = Tensor(shape: inputShape, scalars: (0..<inputShape.reduce(1, *)).map { _ in generator.nextGaussian() })
        for _ in 0..<3 { _ = try graph.forward(x, mode: .inference) }
        var times: [Double] = []
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        while times.count < 5 || DispatchTime.now().uptimeNanoseconds < deadline {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try graph.forward(x, mode: .inference)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        times.sort()
        let before = graph.context.reordersRun
        _ = try graph.forward(x, mode: .inference)
        return Result(batch: inputShape[0], medianMilliseconds: times[times.count / 2],
                      p10Milliseconds: times[times.count / 10], p90Milliseconds: times[times.count * 9 / 10],
                      runs: times.count, reordersPerForward: graph.context.reordersRun - before)
    }

    /// GFLOP/s of a 1024³ single-precision matrix product on `context`: the machine's reference rate.
    public static func sgemmRate(context: ComputeContext, seconds: Double) throws -> Double {
        let n = 1024
        var generator = SeededGenerator(seed: 3)
        let a = (0..<(n * n)).map { _ in generator.nextUniform() }, b = (0..<(n * n)).map { _ in generator.nextUniform() }
        var c = [Float](repeating: 0, count: n * n)
        let t = try LayerBenchmark.time(seconds) { try Sgemm.multiply(a, b, into: &c, m: n, n: n, k: n, context: context) }
        return 2 * Double(n * n * n) / t / 1e9
    }
}
