/// One aligned, zeroed allocation that oneDNN memories move into at chosen offsets: the storage behind an
/// inference plan's activation arena (NeuralNetwork decides the offsets; the raw bytes live here).
import Foundation

public final class MemoryArena {
    /// Offsets of the memories placed in an arena are multiples of this (oneDNN's kernels want 64-byte rows).
    public static let alignment = 64

    /// Bytes allocated.
    public let byteCount: Int
    private let storage: UnsafeMutableRawPointer

    /// Allocates `byteCount` zeroed bytes and rebinds each memory to its offset, releasing the memory's own
    /// allocation. Each memory must be dense and an owner (not a view), its range inside the arena, its offset
    /// aligned; memories whose ranges overlap must never be alive in the same step (the caller's plan).
    public init(byteCount: Int, placing memories: [(memory: Memory, offset: Int)]) throws {
        self.byteCount = byteCount
        storage = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: Self.alignment)
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: max(byteCount, 1))
        for (memory, offset) in memories {
            precondition(offset % Self.alignment == 0 && offset >= 0
                         && offset + memory.descriptor.byteCount <= byteCount, "memory placed outside the arena")
            try memory.rebind(to: storage + offset)
        }
    }

    deinit { storage.deallocate() }
}
