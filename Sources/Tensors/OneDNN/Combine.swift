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

    /// A plain descriptor for the part of a plain N×C×H×W memory at channel `offset` with `channels`
    /// channels: used to split a concatenation's gradient back into its inputs by reordering.
    public static func channelSlice(of plain: MemoryDescriptor, offset: Int, channels: Int) throws -> MemoryDescriptor {
        var parent = plain.raw
        var sub = dnnl_memory_desc_t()
        var dims = plain.dims
        dims[1] = channels
        let d = makeDims(dims)
        let offsets = makeDims([0, offset] + [Int](repeating: 0, count: dims.count - 2))
        try check(dnnl_memory_desc_init_submemory(&sub, &parent, d, offsets), "sub-memory", "\(plain) at \(offset)")
        return MemoryDescriptor(raw: sub)
    }
}
