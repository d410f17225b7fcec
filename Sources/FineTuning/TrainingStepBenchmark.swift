/// Times whole training steps of a graph on random inputs: what `graft bench train-step` reports.
import Foundation
import NeuralNetwork
import Tensors

public enum TrainingStepBenchmark {
    /// Milliseconds per step (median and best) and the last step's loss.
    public struct Result: Sendable {
        public var medianMilliseconds: Double
        public var bestMilliseconds: Double
        public var steps: Int
        public var lastLoss: Float
    }

    /// Two warm-up steps, then `steps` timed ones of SGD (momentum 0.9, learning rate 0.01) on one random batch of
    /// `inputShape` with random labels below `classes`; every parameter of `graph` trains.
    public static func run(_ graph: Graph, inputShape: [Int], classes: Int, steps: Int) throws -> Result {
        var generator = SeededGenerator(seed: 2)
        let x = Tensor(shape: inputShape, scalars: (0..<inputShape.reduce(1, *)).map { _ in generator.nextGaussian() })
        let labels = (0..<inputShape[0]).map { _ in Int(generator.next() % UInt64(classes)) }
        let step = TrainingStep(graph: graph, optimizer: SGD(learningRate: 0.01, momentum: 0.9))
        try step(x, labels: labels)
        try step(x, labels: labels)
        var times: [Double] = []
        var last: Float = 0
        for _ in 0..<steps {
            let start = DispatchTime.now().uptimeNanoseconds
            last = try step(x, labels: labels).loss
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        times.sort()
        return Result(medianMilliseconds: times[times.count / 2], bestMilliseconds: times[0], steps: steps, lastLoss: last)
    }
}
