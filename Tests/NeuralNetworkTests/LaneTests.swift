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

/// A mutable cell handed to one worker thread.
final class Box<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}
