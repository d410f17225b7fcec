// The threading policy: a training job and predictions on separate compute lanes (each with its own OpenMP
// thread count, set on the calling thread) run at the same time and give the same results as run alone.
import Foundation
import Testing
@testable import NeuralNetwork

@Suite struct LaneTests {
    /// Two training steps on a lane, returning the weights afterwards.
    static func train(_ graph: Graph) throws -> [String: Tensor] {
        let x = randomTensor([8, 1, 28, 28], seed: 1)
        for _ in 0..<2 {
            for (_, p) in graph.namedParameters() { p.zeroGradient() }
            let (_, gradient) = SoftmaxCrossEntropy()(logits: try graph.forward(x, mode: .training), labels: Array(0..<8))
            try graph.backward(gradient)
            SGD(learningRate: 0.1, momentum: 0.9).step(graph.namedParameters())
        }
        return graph.stateDict()
    }

    @Test func trainingAndPredictionLanesRunConcurrentlyWithUnchangedResults() throws {
        let lanes = ComputeContext.lanes(2, cores: 2)
        let reference = try Self.train(try Graph(nodes: Architectures.resnet8(), seed: 1, context: lanes[0]))
        let predictor = try Graph(nodes: Architectures.resnet8(), seed: 2, context: lanes[1])
        let images = randomTensor([4, 1, 28, 28], seed: 3)
        let expected = try predictor.forward(images, mode: .inference)

        let trainer = try Graph(nodes: Architectures.resnet8(), seed: 1, context: lanes[0])
        // each thread writes only its own box; group.wait() orders those writes before the reads below
        let trained = Box<[String: Tensor]?>(nil), predictions = Box<[Tensor]>([])
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { trained.value = try? Self.train(trainer) }
        DispatchQueue.global().async(group: group) {
            for _ in 0..<5 { if let y = try? predictor.forward(images, mode: .inference) { predictions.value.append(y) } }
        }
        group.wait()
        #expect(trained.value == reference, "training on its lane must not depend on predictions running beside it")
        #expect(predictions.value.count == 5 && predictions.value.allSatisfy { $0 == expected })
    }
}

extension LaneTests {
    /// A graph moved to a lane of another thread count mid-training (as a job giving up a core does) compiles new
    /// plans there and goes on from the same parameters, moments and BatchNorm statistics: the result matches
    /// training on one lane throughout up to the last bits that threads summing in another order change.
    @Test func trainingMovesBetweenLanesOfDifferentThreadCounts() throws {
        let wide = ComputeContext(threads: 2), narrow = ComputeContext(threads: 1)
        let x = randomTensor([8, 1, 28, 28], seed: 1)
        func steps(_ graph: Graph, _ lanes: [ComputeContext]) throws -> [Float] {
            let optimizer = SGD(learningRate: 0.1, momentum: 0.9)
            return try lanes.map { lane in
                graph.use(lane)
                #expect(graph.context === lane)
                for (_, p) in graph.namedParameters() { p.zeroGradient() }
                let (loss, gradient) = SoftmaxCrossEntropy()(logits: try graph.forward(x, mode: .training), labels: Array(0..<8))
                try graph.backward(gradient)
                optimizer.step(graph.namedParameters())
                return loss
            }
        }
        let reference = try Graph(nodes: Architectures.resnet8(), seed: 1, context: wide)
        let referenceLosses = try steps(reference, Array(repeating: wide, count: 6))
        let moved = try Graph(nodes: Architectures.resnet8(), seed: 1, context: wide)
        let movedLosses = try steps(moved, [wide, narrow, narrow, wide, narrow, wide])
        #expect(movedLosses[0] == referenceLosses[0], "the first step ran on the same lane")
        for (a, b) in zip(movedLosses, referenceLosses) { #expect(abs(a - b) <= 1e-4 * max(1, abs(b)), "\(a) vs \(b)") }
        #expect(referenceLosses.last! < referenceLosses.first!, "the steps train")
        let expected = reference.stateDict()
        for (key, value) in moved.stateDict() {
            let other = try #require(expected[key])
            let difference = zip(value.scalars, other.scalars).map { abs($0 - $1) }.max() ?? 0
            #expect(difference <= 1e-3, "\(key) drifted by \(difference)")
        }
        // inference on the narrow lane agrees with the wide one too
        moved.use(narrow)
        let a = try moved.forward(x, mode: .inference)
        moved.use(wide)
        let b = try moved.forward(x, mode: .inference)
        #expect(zip(a.scalars, b.scalars).allSatisfy { abs($0 - $1) <= 1e-4 })
    }
}

/// A mutable cell handed to one worker thread.
final class Box<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}
