/// Class scores turned into answers: `Prediction` (top-k labels with probabilities) and `ClassScores` (ranking,
/// softmax, accuracy counts over rows of logits), shared by the classifier and evaluation.
import Foundation
import Tensors

/// One image's answer: the k most probable labels, most probable first.
public struct Prediction: Equatable, Sendable {
    public struct Candidate: Equatable, Sendable {
        public var label: String
        public var probability: Double

        public init(label: String, probability: Double) {
            self.label = label
            self.probability = probability
        }
    }

    public var candidates: [Candidate]

    public init(candidates: [Candidate]) { self.candidates = candidates }
}

/// Rows of class scores (logits N×K): ranking, probabilities, accuracy counts.
public enum ClassScores {
    /// Class indices by decreasing score (ties: lower index first).
    public static func ranked(_ scores: [Float]) -> [Int] {
        scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
    }

    /// softmax(z)_i = exp(z_i − max z) / Σ_j exp(z_j − max z), in Double (shifting by the max avoids overflow).
    public static func softmax(_ row: [Float]) -> [Double] {
        let top = Double(row.max() ?? 0)
        let exponentials = row.map { Foundation.exp(Double($0) - top) }
        let total = exponentials.reduce(0, +)
        return exponentials.map { $0 / total }
    }

    /// How many rows of logits N×K have their maximum at the label.
    public static func correctCount(logits: Tensor, labels: [Int]) -> Int {
        let k = logits.shape[1]
        var correct = 0
        for (n, label) in labels.enumerated() {
            var best = 0
            for c in 1..<k where logits.scalars[n * k + c] > logits.scalars[n * k + best] { best = c }
            if best == label { correct += 1 }
        }
        return correct
    }

    /// The `topK` most probable labels of every row of logits N×K.
    public static func predictions(logits: Tensor, labels: [String], topK: Int) -> [Prediction] {
        let classes = logits.shape[1]
        return (0..<logits.shape[0]).map { row in
            let scores = Array(logits.scalars[row * classes..<(row + 1) * classes])
            let probabilities = softmax(scores)
            return Prediction(candidates: ranked(scores).prefix(topK).map {
                Prediction.Candidate(label: $0 < labels.count ? labels[$0] : "class \($0)", probability: probabilities[$0])
            })
        }
    }
}
