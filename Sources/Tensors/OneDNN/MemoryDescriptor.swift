import CDNNL

/// The shape, element type and layout of a oneDNN memory: plain row-major (`nchw`), a blocked layout chosen
/// by a primitive (`nChw16c`, …), or `any` (let the primitive choose). Always Float32 in Graft.
public struct MemoryDescriptor: Equatable, CustomStringConvertible {
    var raw: dnnl_memory_desc_t

    init(raw: dnnl_memory_desc_t) { self.raw = raw }

    /// Plain row-major layout for `dims` (rank 1…6): the layout of `Tensor`.
    public static func plain(_ dims: [Int]) -> MemoryDescriptor { make(dims, tag: plainTag(rank: dims.count)) }

    /// "Let the primitive choose": only for creating primitive descriptors.
    public static func any(_ dims: [Int]) -> MemoryDescriptor { make(dims, tag: dnnl_format_tag_any) }

    private static func plainTag(rank: Int) -> dnnl_format_tag_t {
        switch rank {
        case 1: return dnnl_a
        case 2: return dnnl_ab
        case 3: return dnnl_abc
        case 4: return dnnl_abcd
        case 5: return dnnl_abcde
        case 6: return dnnl_abcdef
        default: preconditionFailure("tensors of rank \(rank) are not supported (1…6)")
        }
    }

    private static func make(_ dims: [Int], tag: dnnl_format_tag_t) -> MemoryDescriptor {
        precondition(dims.allSatisfy { $0 > 0 }, "memory dims must be positive, got \(dims)")
        var raw = dnnl_memory_desc_t()
        let d = makeDims(dims)
        let status = dnnl_memory_desc_init_by_tag(&raw, Int32(dims.count), d, dnnl_f32, tag)
        precondition(status == dnnl_success, "cannot describe memory \(dims)")
        return MemoryDescriptor(raw: raw)
    }

    /// Logical extents, outermost first, independent of the layout.
    public var dims: [Int] {
        var t = raw.dims
        return withUnsafeBytes(of: &t) { Array($0.bindMemory(to: Int64.self).prefix(Int(raw.ndims))) }.map(Int.init)
    }

    /// Number of logical elements.
    public var elementCount: Int { dims.reduce(1, *) }

    /// Bytes a memory with this descriptor occupies (blocked layouts may pad channels).
    public var byteCount: Int {
        var copy = raw
        return dnnl_memory_desc_get_size(&copy)
    }

    /// True when this is the plain row-major layout of its dims.
    public var isPlain: Bool { self == .plain(dims) }

    /// True for a zero (absent) descriptor, as oneDNN returns for an optional argument that is not needed.
    public var isZero: Bool { raw.ndims == 0 }

    /// The layout of this descriptor for other dims of the same rank (`nChw16c` stays `nChw16c`), when it is
    /// one of the dense layouts oneDNN's primitives choose for activations; nil otherwise.
    public func sameLayout(dims newDims: [Int]) -> MemoryDescriptor? {
        guard newDims.count == dims.count else { return nil }
        let candidates: [dnnl_format_tag_t]
        switch dims.count {
        case 4: candidates = [dnnl_abcd, dnnl_acdb, dnnl_aBcd8b, dnnl_aBcd16b, dnnl_ABcd16a16b, dnnl_ABcd8a8b]
        case 1, 2, 3, 5, 6: candidates = [Self.plainTag(rank: dims.count)]
        default: return nil
        }
        guard let tag = candidates.first(where: { Self.make(dims, tag: $0) == self }) else { return nil }
        return Self.make(newDims, tag: tag)
    }

    /// The same layout viewed with other dims of equal element count (plain layouts only).
    public func reshapedPlain(_ newDims: [Int]) -> MemoryDescriptor {
        precondition(isPlain && newDims.reduce(1, *) == elementCount, "cannot view \(self) as \(newDims)")
        return .plain(newDims)
    }

    /// The same layout (channel blocks and axis order) for other dims of the same rank: the layout a broadcast
    /// operand needs beside a full-size one, since oneDNN 2.6's binary kernels fall back to reference code when
    /// the two differ. Strides follow this layout's axis order (of two axes with equal strides, the later is inner).
    public func withDims(_ newDims: [Int]) -> MemoryDescriptor {
        precondition(newDims.count == dims.count && newDims.allSatisfy { $0 > 0 } && raw.format_kind == dnnl_blocked,
                     "cannot give \(self) the dims \(newDims)")
        if newDims == dims { return self }
        var result = raw
        let rank = newDims.count
        var blocking = raw.format_desc.blocking
        let count = Int(blocking.inner_nblks)
        let blocks = withUnsafeBytes(of: &blocking.inner_blks) { Array($0.bindMemory(to: Int64.self).prefix(count)) }
        let axes = withUnsafeBytes(of: &blocking.inner_idxs) { Array($0.bindMemory(to: Int64.self).prefix(count)) }
        let oldStrides = withUnsafeBytes(of: &blocking.strides) { Array($0.bindMemory(to: Int64.self).prefix(rank)) }
        var blockOf = [Int64](repeating: 1, count: rank)
        for (block, axis) in zip(blocks, axes) { blockOf[Int(axis)] *= block }
        let padded = (0..<rank).map { (Int64(newDims[$0]) + blockOf[$0] - 1) / blockOf[$0] * blockOf[$0] }
        var strides = [Int64](repeating: 0, count: rank)
        var step = blocks.reduce(1, *)
        for axis in (0..<rank).sorted(by: { (oldStrides[$0], $1) < (oldStrides[$1], $0) }) {
            strides[axis] = step
            step *= padded[axis] / blockOf[axis]
        }
        let dimsValues = makeDims(newDims), paddedValues = padded + [Int64](repeating: 0, count: 12 - rank)
        let stridesValues = strides + [Int64](repeating: 0, count: 12 - rank)
        withUnsafeMutableBytes(of: &result.dims) { _ = $0.bindMemory(to: Int64.self).update(from: dimsValues) }
        withUnsafeMutableBytes(of: &result.padded_dims) { _ = $0.bindMemory(to: Int64.self).update(from: paddedValues) }
        withUnsafeMutableBytes(of: &result.padded_offsets) { $0.bindMemory(to: Int64.self).update(repeating: 0) }
        withUnsafeMutableBytes(of: &result.format_desc.blocking.strides) {
            _ = $0.bindMemory(to: Int64.self).update(from: stridesValues)
        }
        result.offset0 = 0
        return MemoryDescriptor(raw: result)
    }

    /// Dims and layout, e.g. `8×16×28×28 plain` or `8×16×28×28 blocked 16b` (16 channels per block).
    public var description: String {
        let shape = dims.map(String.init).joined(separator: "×")
        if isZero { return "none" }
        if isPlain { return "\(shape) plain" }
        guard raw.format_kind == dnnl_blocked else { return "\(shape) any" }
        var blocking = raw.format_desc.blocking
        let count = Int(blocking.inner_nblks)
        let blocks = withUnsafeBytes(of: &blocking.inner_blks) { Array($0.bindMemory(to: Int64.self).prefix(count)) }
        let axes = withUnsafeBytes(of: &blocking.inner_idxs) { Array($0.bindMemory(to: Int64.self).prefix(count)) }
        let letters = Array("abcdef")
        let inner = zip(blocks, axes).map { "\($0)\(letters[Int($1)])" }.joined()
        return "\(shape) blocked \(inner.isEmpty ? "strided" : inner)"
    }

    public static func == (lhs: MemoryDescriptor, rhs: MemoryDescriptor) -> Bool {
        var l = lhs.raw, r = rhs.raw
        return dnnl_memory_desc_equal(&l, &r) != 0
    }
}

/// `[Int]` → the 12 entries of oneDNN's `dnnl_dims_t` (unused entries zero), as an array whose buffer is passed
/// to C (a pointer to a tuple element would only cover that element).
func makeDims(_ values: [Int]) -> [Int64] {
    precondition(values.count <= 12, "at most 12 dims, got \(values.count)")
    return values.map(Int64.init) + [Int64](repeating: 0, count: 12 - values.count)
}
