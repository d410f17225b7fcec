/// Stratified, seeded train/validation split: each class contributes the same fraction to validation.
import Foundation
import Tensors

/// Indices of a dataset's samples divided into training and validation sets.
public struct DatasetSplit: Sendable, Equatable {
    public var training: [Int]
    public var validation: [Int]

    /// Splits every class separately: its samples are shuffled with a generator seeded by `seed`, and
    /// round(fraction × count) of them go to validation — at least one and never all when the class has two
    /// or more samples and the fraction is positive. Both lists come back sorted.
    public static func stratified(labels: [Int], validationFraction: Double, seed: UInt64) -> DatasetSplit {
        precondition((0..<1).contains(validationFraction), "validation fraction must be in [0, 1)")
        var byClass: [Int: [Int]] = [:]
        for (index, label) in labels.enumerated() { byClass[label, default: []].append(index) }
        var generator = SeededGenerator(seed: seed)
        var training: [Int] = [], validation: [Int] = []
        for label in byClass.keys.sorted() {
            var members = byClass[label]!
            shuffle(&members, using: &generator)
            var take = Int((validationFraction * Double(members.count)).rounded())
            if validationFraction > 0 && members.count >= 2 { take = min(max(take, 1), members.count - 1) }
            validation += members.prefix(take)
            training += members.dropFirst(take)
        }
        return DatasetSplit(training: training.sorted(), validation: validation.sorted())
    }

    /// Fisher–Yates with an explicit algorithm, so orders never change with the standard library's shuffle.
    public static func shuffle<T>(_ items: inout [T], using generator: inout SeededGenerator) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) {
            let j = Int(generator.next() % UInt64(i + 1))
            items.swapAt(i, j)
        }
    }
}
