// Inference plans keep their activations in one arena: buffers whose lifetimes do not overlap share bytes.
import Foundation
import Tensors

/// One allocation holding the step outputs of an inference plan, each at an offset chosen so that no two buffers
/// alive at the same step overlap. A plan of EfficientNet-Lite0 otherwise keeps every intermediate result of every
/// layer: 28 MB per image in the batch instead of the few that are alive at once.
final class ActivationArena {
    /// A buffer to place: its size and the steps from its producer to its last reader, inclusive.
    struct Lifetime: Equatable {
        var bytes: Int
        var first: Int
        var last: Int

        func overlaps(_ other: Lifetime) -> Bool { first <= other.last && other.first <= last }
    }

    static let alignment = MemoryArena.alignment

    let storage: MemoryArena
    /// Bytes of the arena, and what the buffers would take apart.
    let bytes: Int
    let separateBytes: Int

    /// Offsets for `lifetimes` (same order), largest buffers first, each at the lowest aligned offset clear of every
    /// already placed buffer alive at the same time; and the arena size they need.
    static func place(_ lifetimes: [Lifetime]) -> (offsets: [Int], size: Int) {
        func aligned(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }
        var offsets = [Int](repeating: 0, count: lifetimes.count)
        var placed: [Int] = []
        var size = 0
        for i in lifetimes.indices.sorted(by: { (lifetimes[$0].bytes, $1) > (lifetimes[$1].bytes, $0) }) {
            let conflicts = placed.filter { lifetimes[$0].overlaps(lifetimes[i]) }
                .map { (start: offsets[$0], end: offsets[$0] + aligned(lifetimes[$0].bytes)) }
                .sorted { $0.start < $1.start }
            var offset = 0
            for range in conflicts where offset + lifetimes[i].bytes > range.start {
                offset = max(offset, range.end)
            }
            offsets[i] = offset
            placed.append(i)
            size = max(size, offset + aligned(lifetimes[i].bytes))
        }
        return (offsets, size)
    }

    /// Moves `buffers` into one arena laid out for their lifetimes.
    init(buffers: [(memory: Memory, lifetime: Lifetime)]) throws {
        let (offsets, size) = Self.place(buffers.map(\.lifetime))
        bytes = size
        separateBytes = buffers.reduce(0) { $0 + $1.lifetime.bytes }
        storage = try MemoryArena(byteCount: size, placing: zip(buffers, offsets).map { ($0.memory, $1) })
    }
}

extension Plan {
    /// For an inference plan: runs one forward on zeros noting which buffer every step reads and writes (by
    /// address, so views and in-place results count as uses of the buffer they alias), then moves each step's own
    /// dense output buffer into an arena shaped by those lifetimes. Buffers that are not a step's result, padded
    /// layouts, and the plan's input stay where they are.
    func shareActivationStorage() throws -> ActivationArena? {
        var reads: [[UInt]] = []
        var results: [UInt] = []
        _ = try forward(Tensor(shape: key.inputShape, repeating: 0)) { inputs, output in
            reads.append(inputs.map(\.storageIdentity))
            results.append(output.storageIdentity)
        }
        var lastUse: [UInt: Int] = [:]
        for i in steps.indices {
            for address in reads[i] + [results[i]] { lastUse[address] = i }
        }
        lastUse[results[outputIndex]] = steps.count  // the caller reads the result after the last step
        var buffers: [(memory: Memory, lifetime: ActivationArena.Lifetime)] = []
        for (i, step) in steps.enumerated() {
            guard let memory = step.ownedOutput, memory.storageIdentity == results[i], memory.isDense,
                  memory.storageIdentity != inputMemory.storageIdentity else { continue }
            buffers.append((memory, .init(bytes: memory.descriptor.byteCount, first: i, last: lastUse[results[i]]!)))
        }
        guard buffers.count > 1 else { return nil }
        return try ActivationArena(buffers: buffers)
    }
}
