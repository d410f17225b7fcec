/// One optimisation step over a graph — the step of fine-tuning, pretraining and `graft bench train-step` alike.
import Foundation
import NeuralNetwork
import Tensors

/// Zeroes the gradients, runs the graph forward in training mode, takes the softmax cross-entropy, runs backward
/// and lets the optimizer update the parameters.
public struct TrainingStep {
    public let graph: Graph
    /// What the optimizer updates (and whose gradients are zeroed): the trainable parameters by default.
    public let parameters: [(key: String, parameter: Parameter)]
    public let loss: SoftmaxCrossEntropy
    public let optimizer: Optimizer

    public init(graph: Graph, parameters: [(key: String, parameter: Parameter)]? = nil,
                loss: SoftmaxCrossEntropy = SoftmaxCrossEntropy(), optimizer: Optimizer) {
        self.graph = graph
        self.parameters = parameters ?? graph.namedParameters().filter { $0.parameter.isTrainable }
        self.loss = loss
        self.optimizer = optimizer
    }

    /// Thrown before the backward pass when the batch's loss is NaN or infinite; nothing was updated.
    public struct NonFiniteLoss: Error {
        public var loss: Float
    }

    /// inputs: N×… as the graph takes them; labels: N class indices. Returns the batch's mean loss and its
    /// logits N×K (for accuracy counts). `learningRate`, when given, is set on the optimizer before its update.
    @discardableResult
    public func callAsFunction(_ inputs: Tensor, labels: [Int], learningRate: Float? = nil) throws
        -> (loss: Float, logits: Tensor)
    {
        for (_, parameter) in parameters { parameter.zeroGradient() }
        let logits = try graph.forward(inputs, mode: .training)
        let (value, gradient) = loss(logits: logits, labels: labels)
        // A NaN or infinite loss would poison every weight at the update: stop before it.
        guard value.isFinite else { throw NonFiniteLoss(loss: value) }
        try graph.backward(gradient)
        if let learningRate { optimizer.learningRate = learningRate }
        optimizer.step(parameters)
        return (value, logits)
    }
}
