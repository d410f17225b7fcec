/// Brings memories into one fixed layout, reusing a cached reorder primitive and destination buffer: the
/// reorders at a plan's edges (and between primitives that chose different layouts) are created once.
public final class LayoutAdapter {
    /// The layout every result has.
    public let target: MemoryDescriptor
    private let context: ComputeContext
    private var cached: (source: MemoryDescriptor, reorder: Primitive, memory: Memory)?

    public init(target: MemoryDescriptor, context: ComputeContext) {
        self.target = target
        self.context = context
    }

    /// `memory` itself when it already has the target layout, otherwise its contents reordered into this
    /// adapter's buffer (valid until the next call).
    public func callAsFunction(_ memory: Memory) throws -> Memory {
        if memory.descriptor == target { return memory }
        if cached == nil || cached!.source != memory.descriptor {
            cached = (memory.descriptor, try Reorder.make(from: memory.descriptor, to: target), try Memory(target))
        }
        try cached!.reorder.execute([(PrimitiveArgument.src, memory), (PrimitiveArgument.dst, cached!.memory)], context: context)
        return cached!.memory
    }
}
