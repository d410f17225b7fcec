/// Evaluation of a classifier on a labelled set: loss, accuracy, top-k accuracy, per-class precision, recall and
/// F1, and the confusion matrix.
import Foundation
import NeuralNetwork
import Tensors

/// Metrics of one evaluation. JSON keys are snake_case.
public struct EvaluationReport: Codable, Sendable, Equatable {
    /// Per-class figures (label order); precision and recall are 0 when undefined.
    public struct ClassMetrics: Codable, Sendable, Equatable {
        public var precision: Double
        public var recall: Double
        public var f1: Double
        public var support: Int
    }

    public var loss: Double
    public var accuracy: Double
    public var topK: Int
    public var topKAccuracy: Double
    public var perClass: [ClassMetrics]
    /// `confusion[true][predicted]` counts.
    public var confusion: [[Int]]
    public var count: Int

    enum CodingKeys: String, CodingKey {
        case loss, accuracy, count, confusion
        case topK = "top_k", topKAccuracy = "top_k_accuracy", perClass = "per_class"
    }

    /// Builds the per-class metrics from a confusion matrix.
    init(loss: Double, topK: Int, topKCorrect: Int, confusion: [[Int]]) {
        let count = confusion.reduce(0) { $0 + $1.reduce(0, +) }
        let classes = confusion.count
        self.loss = loss
        self.count = count
        self.topK = topK
        self.confusion = confusion
        accuracy = count == 0 ? 0 : Double((0..<classes).reduce(0) { $0 + confusion[$1][$1] }) / Double(count)
        topKAccuracy = count == 0 ? 0 : Double(topKCorrect) / Double(count)
        perClass = (0..<classes).map { c in
            let truePositives = Double(confusion[c][c])
            let predicted = Double((0..<classes).reduce(0) { $0 + confusion[$1][c] })
            let actual = Double(confusion[c].reduce(0, +))
            let precision = predicted == 0 ? 0 : truePositives / predicted
            let recall = actual == 0 ? 0 : truePositives / actual
            let f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
            return ClassMetrics(precision: precision, recall: recall, f1: f1, support: Int(actual))
        }
    }
}

/// Runs a graph in inference mode over a set and gathers an ``EvaluationReport``.
public enum Evaluation {
    /// `images` may be raw images or cached features, whatever `graph` takes as input.
    public static func evaluate(graph: Graph, images: any ImageBatches, classCount: Int, batchSize: Int, topK: Int,
                                loss: SoftmaxCrossEntropy = SoftmaxCrossEntropy()) throws -> EvaluationReport {
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: classCount), count: classCount)
        var lossSum = 0.0, topKCorrect = 0
        try images.forEachBatch(of: batchSize) { batch, labels in
            let logits = try graph.forward(batch, mode: .inference)
            lossSum += Double(loss(logits: logits, labels: labels).loss) * Double(labels.count)
            for (n, label) in labels.enumerated() {
                let row = Array(logits.scalars[(n * classCount)..<((n + 1) * classCount)])
                let ranked = ClassScores.ranked(row)
                confusion[label][ranked[0]] += 1
                if ranked.prefix(topK).contains(label) { topKCorrect += 1 }
            }
        }
        return EvaluationReport(loss: images.count == 0 ? 0 : lossSum / Double(images.count), topK: topK,
                                topKCorrect: topKCorrect, confusion: confusion)
    }
}
