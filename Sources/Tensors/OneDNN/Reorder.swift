import CDNNL

/// Layout changes between two memories of the same logical dims (plain ↔ blocked, blocked ↔ blocked).
public enum Reorder {
    /// A reorder primitive from `source` to `destination` layout, created once and reused by plans.
    public static func make(from source: MemoryDescriptor, to destination: MemoryDescriptor) throws -> Primitive {
        precondition(source.dims == destination.dims, "reorder \(source) → \(destination)")
        var pd: dnnl_primitive_desc_t?
        var s = source.raw, d = destination.raw
        let detail = "\(source) → \(destination)"
        try check(dnnl_reorder_primitive_desc_create(&pd, &s, cpuEngine, &d, cpuEngine, nil), "reorder", detail)
        return try PrimitiveDescriptor(handle: pd!, operation: "reorder", detail: detail).makePrimitive()
    }

    /// A copy between two descriptors of one layout family, e.g. into a region of a larger buffer (Pad): the
    /// op's own work rather than a layout change, so it is not counted in `ComputeContext.reordersRun`.
    public static func copy(from source: MemoryDescriptor, to destination: MemoryDescriptor) throws -> Primitive {
        precondition(source.dims == destination.dims, "copy \(source) → \(destination)")
        var pd: dnnl_primitive_desc_t?
        var s = source.raw, d = destination.raw
        let detail = "\(source) → \(destination)"
        try check(dnnl_reorder_primitive_desc_create(&pd, &s, cpuEngine, &d, cpuEngine, nil), "copy", detail)
        return try PrimitiveDescriptor(handle: pd!, operation: "copy", detail: detail).makePrimitive()
    }

    /// One-off reorder (oneDNN's primitive cache makes repeated creation cheap).
    public static func run(from source: Memory, to destination: Memory, context: ComputeContext) throws {
        try make(from: source.descriptor, to: destination.descriptor)
            .execute([(PrimitiveArgument.src, source), (PrimitiveArgument.dst, destination)], context: context)
    }
}
