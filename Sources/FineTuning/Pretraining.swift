/// The recipe that builds the embedded default base model `Models/fmnist-resnet8/`: ResNet-8 trained from a
/// fixed seed on Fashion-MNIST classes 0–4.
import Foundation
import ImageData
import NeuralNetwork
import Tensors

/// ResNet-8 pretraining on Fashion-MNIST classes 0–4 (T-shirt, trouser, pullover, dress, coat; 30 000 images):
/// SGD momentum 0.9 Nesterov, learning rate 0.05 cosine-annealed to 0 per step, weight decay 5e-4, batch 128,
/// 8 epochs, random crop (pad 2) + horizontal flip. Input 1×28×28, mean 0.2860, std 0.3530, head node `fc`.
public struct FashionMNISTPretraining: Sendable {
    public var classes = [0, 1, 2, 3, 4]
    public var epochs = 8
    public var batchSize = 128
    public var learningRate: Float = 0.05
    public var momentum: Float = 0.9
    public var weightDecay: Float = 5e-4
    public var padding = 2
    public var seed: UInt64 = 2024
    /// Optional cap on training images per class (tests and quick trials); nil = all 6 000.
    public var perClassLimit: Int?
    public var datasetFolder = IDXDataset.fashionMNISTFolder

    public static let input = InputSpec(channels: 1, height: 28, width: 28, resize: .stretch, mean: [0.2860], std: [0.3530])

    public init() {}

    /// One line per epoch: epoch (1-based), mean training loss, training accuracy, test accuracy, seconds.
    public typealias EpochReport = (epoch: Int, loss: Double, trainAccuracy: Double, testAccuracy: Double, seconds: Double)

    /// Trains and returns the model (manifest with labels, provenance and test metrics, and its graph).
    public func run(context: ComputeContext = ComputeContext(), report: (EpochReport) -> Void = { _ in }) throws
        -> ModelFolder
    {
        let spec = Self.input
        let trainSet = try IDXDataset.fashionMNIST(split: "train", folder: datasetFolder, classes: classes,
                                                   perClassLimit: perClassLimit)
        let testSet = try IDXDataset.fashionMNIST(split: "t10k", folder: datasetFolder, classes: classes)
        let train = try TensorImages(dataset: trainSet, spec: spec)
        let test = try TensorImages(dataset: testSet, spec: spec)
        let nodes = Architectures.resnet8(inputChannels: 1, classes: classes.count)
        let graph = try Graph(nodes: nodes, output: "fc", seed: seed, inputShape: [batchSize, 1, 28, 28], context: context)
        let optimizer = SGD(learningRate: learningRate, momentum: momentum, nesterov: true, weightDecay: weightDecay)
        let schedule = CosineSchedule(learningRate: learningRate, minimumLearningRate: 0)
        let step = TrainingStep(graph: graph, optimizer: optimizer)
        let augmentation = PadCropFlip(padding: padding, fill: [-Self.input.mean[0] / Self.input.std[0]])
        var generator = SeededGenerator(seed: seed &+ 1)
        let stepsPerEpoch = (train.count + batchSize - 1) / batchSize
        var stepCount = 0
        var testAccuracy = 0.0, testLoss = 0.0
        for epoch in 0..<epochs {
            let start = Date()
            var order = Array(0..<train.count)
            DatasetSplit.shuffle(&order, using: &generator)
            var lossSum = 0.0, correct = 0
            for b in 0..<stepsPerEpoch {
                let indices = Array(order[(b * batchSize)..<min(train.count, (b + 1) * batchSize)])
                var (images, labels) = train.batch(indices)
                augmentation.apply(to: &images, using: &generator)
                let rate = schedule.learningRate(atStep: stepCount, totalSteps: epochs * stepsPerEpoch)
                let (value, logits) = try step(images, labels: labels, learningRate: rate)
                lossSum += Double(value) * Double(labels.count)
                correct += ClassScores.correctCount(logits: logits, labels: labels)
                stepCount += 1
            }
            let evaluation = try Evaluation.evaluate(graph: graph, images: test, classCount: classes.count,
                                                     batchSize: 500, topK: 2)
            testAccuracy = evaluation.accuracy
            testLoss = evaluation.loss
            report((epoch + 1, lossSum / Double(train.count), Double(correct) / Double(train.count), testAccuracy,
                    Date().timeIntervalSince(start)))
        }
        let manifest = ModelManifest(
            nodes: graph.nodes, input: Self.input, labels: trainSet.classNames, head: "fc",
            provenance: [
                "recipe": "graft pretrain fmnist-resnet8",
                "dataset": "Fashion-MNIST train, classes \(classes.map(String.init).joined(separator: ",")), \(train.count) images",
                "optimizer": "SGD momentum \(momentum) nesterov, lr \(learningRate) cosine to 0, weight decay \(weightDecay)",
                "augmentation": "random crop pad \(padding) + horizontal flip",
                "epochs": "\(epochs)", "batch_size": "\(batchSize)", "seed": "\(seed)",
            ],
            metrics: ["test_accuracy": testAccuracy, "test_loss": testLoss])
        return ModelFolder(manifest: manifest, graph: graph)
    }
}
