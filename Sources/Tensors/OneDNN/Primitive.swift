import CDNNL

/// Execution-argument indices of oneDNN (`DNNL_ARG_*` macros, which do not import into Swift).
public enum PrimitiveArgument {
    public static let src: Int32 = 1
    public static let src1: Int32 = 2
    public static let dst: Int32 = 17
    public static let weights: Int32 = 33
    public static let bias: Int32 = 41
    public static let mean: Int32 = 49
    public static let variance: Int32 = 50
    public static let scale: Int32 = 51
    public static let shift: Int32 = 52
    public static let workspace: Int32 = 64
    public static let diffSrc: Int32 = 129
    public static let diffDst: Int32 = 145
    public static let diffWeights: Int32 = 161
    public static let diffBias: Int32 = 169
    public static let diffScale: Int32 = 255
    public static let diffShift: Int32 = 256
    /// `DNNL_ARG_MULTIPLE_SRC + i`: the i-th input of sum and concat.
    public static func multipleSrc(_ i: Int) -> Int32 { 1024 + Int32(i) }
}

/// Which memory of a primitive descriptor to query.
public enum MemoryQuery {
    case src, dst, weights, diffSrc, diffDst, diffWeights, workspace

    var raw: dnnl_query_t {
        switch self {
        case .src: return dnnl_query_src_md
        case .dst: return dnnl_query_dst_md
        case .weights: return dnnl_query_weights_md
        case .diffSrc: return dnnl_query_diff_src_md
        case .diffDst: return dnnl_query_diff_dst_md
        case .diffWeights: return dnnl_query_diff_weights_md
        case .workspace: return dnnl_query_workspace_md
        }
    }
}

/// Operations oneDNN can fuse after a convolution, inner product or pooling (inference).
public enum PostOp: Hashable, Sendable {
    /// dst = f(dst): any element-wise function, appended as one post-op per stage.
    case eltwise(Eltwise.Function)
    /// dst = conv(x) + scale · dst (a fused residual add).
    case sum(scale: Float)
}

/// A oneDNN primitive descriptor: an operation with its shapes resolved to concrete layouts and an
/// implementation picked. Query it for the layouts it chose, then make the primitive.
public final class PrimitiveDescriptor {
    let handle: dnnl_primitive_desc_t
    /// Operation name and shapes, for errors and reports.
    public let operation: String
    public let detail: String
    let isReorder: Bool

    init(handle: dnnl_primitive_desc_t, operation: String, detail: String) {
        self.handle = handle
        self.operation = operation
        self.detail = detail
        isReorder = operation == "reorder"
    }

    /// Creates a descriptor from an op descriptor struct (`dnnl_*_desc_t`).
    static func create<Desc>(
        _ opDesc: inout Desc, operation: String, detail: String, postOps: [PostOp] = [],
        hint: PrimitiveDescriptor? = nil
    ) throws -> PrimitiveDescriptor {
        var attr: dnnl_primitive_attr_t?
        try check(dnnl_primitive_attr_create(&attr), operation, detail)
        defer { dnnl_primitive_attr_destroy(attr) }
        if !postOps.isEmpty {
            var ops: dnnl_post_ops_t?
            try check(dnnl_post_ops_create(&ops), operation, detail)
            defer { dnnl_post_ops_destroy(ops) }
            for op in postOps {
                switch op {
                case .eltwise(let function):
                    for (alg, alpha, beta) in function.algorithms {
                        try check(dnnl_post_ops_append_eltwise(ops, 1, alg, alpha, beta), operation, detail)
                    }
                case .sum(let scale): try check(dnnl_post_ops_append_sum(ops, scale), operation, detail)
                }
            }
            try check(dnnl_primitive_attr_set_post_ops(attr, ops), operation, detail)
        }
        var pd: dnnl_primitive_desc_t?
        try withUnsafePointer(to: &opDesc) { desc in
            try check(
                dnnl_primitive_desc_create(&pd, UnsafeRawPointer(desc), attr, cpuEngine, hint?.handle),
                operation, detail)
        }
        return PrimitiveDescriptor(handle: pd!, operation: operation, detail: detail)
    }

    deinit { dnnl_primitive_desc_destroy(handle) }

    /// The layout the implementation uses for one of its memories (a zero descriptor when absent).
    public func memoryDescriptor(_ query: MemoryQuery, index: Int = 0) -> MemoryDescriptor {
        guard let md = dnnl_primitive_desc_query_md(handle, query.raw, Int32(index)) else {
            return MemoryDescriptor(raw: dnnl_memory_desc_t())
        }
        return MemoryDescriptor(raw: md.pointee)
    }

    /// The implementation oneDNN picked, e.g. `jit:avx512_core` or `brgconv:avx512_core`.
    public var implementation: String {
        var name: UnsafePointer<CChar>?
        guard dnnl_primitive_desc_query(handle, dnnl_query_impl_info_str, 0, &name) == dnnl_success,
              let name else { return "unknown" }
        return String(cString: name)
    }

    public func makePrimitive() throws -> Primitive {
        var primitive: dnnl_primitive_t?
        try check(dnnl_primitive_create(&primitive, handle), operation, detail)
        return Primitive(handle: primitive!, descriptor: self)
    }
}

/// A ready-to-run oneDNN primitive, created once per plan and executed every step.
public final class Primitive {
    let handle: dnnl_primitive_t
    public let descriptor: PrimitiveDescriptor

    init(handle: dnnl_primitive_t, descriptor: PrimitiveDescriptor) {
        self.handle = handle
        self.descriptor = descriptor
    }

    deinit { dnnl_primitive_destroy(handle) }

    /// Runs the primitive on `context`'s lane with the given (argument index, memory) pairs.
    public func execute(_ arguments: [(Int32, Memory)], context: ComputeContext) throws {
        context.activate()
        if descriptor.isReorder { context.reordersRun += 1 }
        var args = arguments.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1.handle) }
        try check(
            dnnl_primitive_execute(handle, context.stream, Int32(args.count), &args),
            descriptor.operation + " execute", descriptor.detail)
        withExtendedLifetime(arguments) {}
    }
}
