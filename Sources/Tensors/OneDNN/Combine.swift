import CDNNL

/// oneDNN primitives that combine several tensors: binary (add, multiply), sum of n inputs, concatenation.
public enum Combine {
    public enum BinaryOperation: Sendable { case add, multiply }

    /// dst = a ∘ b; b may broadcast over axes where its extent is 1. `destination` may be `.any`.
    public static func binary(
        _ operation: BinaryOperation, _ a: MemoryDescriptor, _ b: MemoryDescriptor, destination: MemoryDescriptor
    ) throws -> PrimitiveDescriptor {
        var desc = dnnl_binary_desc_t()
        var x = a.raw, y = b.raw, d = destination.raw
        let detail = "\(operation) of \(a) and \(b)"
        try check(
            dnnl_binary_desc_init(&desc, operation == .add ? dnnl_binary_add : dnnl_binary_mul, &x, &y, &d),
            "binary", detail)
        return try PrimitiveDescriptor.create(&desc, operation: "binary", detail: detail)
    }

    /// dst = Σ scale_i · src_i over inputs of equal dims; arguments `PrimitiveArgument.multipleSrc(i)` and dst.
    public static func sum(_ sources: [MemoryDescriptor], destination: MemoryDescriptor, scales: [Float]? = nil)
        throws -> PrimitiveDescriptor
    {
        var pd: dnnl_primitive_desc_t?
        var d = destination.raw
        var raws = sources.map(\.raw)
        let weights = scales ?? [Float](repeating: 1, count: sources.count)
        let detail = "sum of \(sources.map(\.description))"
        try check(
            dnnl_sum_primitive_desc_create(&pd, &d, Int32(sources.count), weights, &raws, nil, cpuEngine),
            "sum", detail)
        return PrimitiveDescriptor(handle: pd!, operation: "sum", detail: detail)
    }

    /// Concatenation along `axis` (1 = channels); `destination` may be `.any`.
    public static func concat(_ sources: [MemoryDescriptor], axis: Int, destination: MemoryDescriptor) throws
        -> PrimitiveDescriptor
    {
        var pd: dnnl_primitive_desc_t?
        var d = destination.raw
        var raws = sources.map(\.raw)
        let detail = "concat on axis \(axis) of \(sources.map(\.description))"
        try check(
            dnnl_concat_primitive_desc_create(&pd, &d, Int32(sources.count), Int32(axis), &raws, nil, cpuEngine),
            "concat", detail)
        return PrimitiveDescriptor(handle: pd!, operation: "concat", detail: detail)
    }

    /// A descriptor for the part of a memory of layout `parent` at `offset` along `axis`, `extent` long there:
    /// used to split a concatenation's gradient back into its inputs by reordering.
    public static func slice(of parent: MemoryDescriptor, axis: Int, offset: Int, extent: Int) throws
        -> MemoryDescriptor
    {
        var dims = parent.dims, offsets = [Int](repeating: 0, count: parent.dims.count)
        dims[axis] = extent
        offsets[axis] = offset
        return try region(of: parent, dims: dims, offsets: offsets)
    }

    /// The part of a plain N×C×H×W memory at channel `offset` with `channels` channels (a channel slice).
    public static func channelSlice(of plain: MemoryDescriptor, offset: Int, channels: Int) throws -> MemoryDescriptor {
        try slice(of: plain, axis: 1, offset: offset, extent: channels)
    }

    /// A descriptor for the box of `dims` starting at `offsets` inside a memory of layout `parent` (blocked
    /// layouts: offsets along a blocked axis must be whole blocks).
    public static func region(of parent: MemoryDescriptor, dims: [Int], offsets: [Int]) throws -> MemoryDescriptor {
        var raw = parent.raw
        var sub = dnnl_memory_desc_t()
        try check(dnnl_memory_desc_init_submemory(&sub, &raw, makeDims(dims), makeDims(offsets)), "sub-memory",
                  "\(dims) at \(offsets) of \(parent)")
        return MemoryDescriptor(raw: sub)
    }
}
