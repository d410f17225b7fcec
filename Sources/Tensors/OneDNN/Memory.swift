import CDNNL

#if canImport(Glibc)
import Glibc
#endif

/// A oneDNN memory object: a buffer of Float32 elements in the layout its descriptor gives (plain or blocked).
///
/// Activations and gradients live in these between the layers of a compiled plan. `Tensor` (plain) is their
/// edge: `write(_:)` and `tensor()` reorder as needed. A view shares another memory's buffer under a
/// different plain descriptor (Flatten) and keeps that memory alive.
public final class Memory {
    let handle: dnnl_memory_t
    public let descriptor: MemoryDescriptor
    private let owner: Memory?

    /// Allocates a zero-filled memory (blocked layouts need their channel padding zeroed).
    public init(_ descriptor: MemoryDescriptor) throws {
        var memory: dnnl_memory_t?
        var raw = descriptor.raw
        try check(
            dnnl_memory_create(&memory, &raw, cpuEngine, UnsafeMutableRawPointer(bitPattern: -1)),
            "memory allocation", "\(descriptor)")
        self.handle = memory!
        self.descriptor = descriptor
        self.owner = nil
        memset(dataPointer, 0, descriptor.byteCount)
    }

    /// A view of `base`'s buffer with another descriptor of the same byte size (plain reshapes).
    public convenience init(viewing base: Memory, as descriptor: MemoryDescriptor) throws {
        precondition(base.descriptor.byteCount == descriptor.byteCount, "view \(descriptor) of \(base.descriptor)")
        try self.init(sharing: base, as: descriptor)
    }

    /// A memory over `base`'s buffer with a descriptor that addresses part of it (a sub-memory with an offset).
    public init(sharing base: Memory, as descriptor: MemoryDescriptor) throws {
        var memory: dnnl_memory_t?
        var raw = descriptor.raw
        try check(
            dnnl_memory_create(&memory, &raw, cpuEngine, base.dataPointer), "memory view", "\(descriptor)")
        self.handle = memory!
        self.descriptor = descriptor
        self.owner = base
    }

    deinit { dnnl_memory_destroy(handle) }

    /// Returns the free pages of the process heap to the system. malloc keeps large freed blocks in its heap once
    /// its mmap threshold has grown, so buffers dropped for good (separate activations moved into an arena) would
    /// otherwise stay resident.
    public static func releaseFreedPages() { _ = malloc_trim(0) }

    var dataPointer: UnsafeMutableRawPointer {
        var pointer: UnsafeMutableRawPointer?
        dnnl_memory_get_data_handle(handle, &pointer)
        return pointer!
    }

    /// Where the buffer starts, as a number (views share their base's): identifies which buffer a memory reads or
    /// writes, so that code outside this target can trace which buffers steps share without touching pointers.
    public var storageIdentity: UInt { UInt(bitPattern: dataPointer) }

    /// True when the layout has no padding (blocked layouts round channels up to the block, and oneDNN needs that
    /// padding zero): only such memories may move into storage shared with other memories.
    public var isDense: Bool { descriptor.byteCount == descriptor.elementCount * MemoryLayout<Float>.stride }

    /// Moves this memory onto `storage` (at least `descriptor.byteCount` bytes, owned and kept alive by the
    /// caller), releasing its own allocation; views created afterwards see the new storage.
    public func rebind(to storage: UnsafeMutableRawPointer) throws {
        precondition(owner == nil, "a view cannot be moved")
        try check(dnnl_memory_set_data_handle(handle, storage), "memory rebind", "\(descriptor)")
    }

    /// Logical dims (layout-independent).
    public var dims: [Int] { descriptor.dims }

    /// Sets every byte (including padding) to zero.
    public func zero() { memset(dataPointer, 0, descriptor.byteCount) }

    /// Copies a plain tensor in, reordering into this memory's layout when it is not plain.
    public func write(_ tensor: Tensor, context: ComputeContext) throws {
        precondition(tensor.shape.reduce(1, *) == descriptor.elementCount,
                     "tensor \(tensor.shape) does not fit memory \(descriptor)")
        if descriptor.isPlain {
            tensor.scalars.withUnsafeBytes { dataPointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            return
        }
        let staging = try Memory(.plain(descriptor.dims))
        try staging.write(tensor, context: context)
        try Reorder.run(from: staging, to: self, context: context)
    }

    /// The contents as a plain tensor of this memory's dims (reordered when the layout is blocked).
    public func tensor(context: ComputeContext) throws -> Tensor {
        if descriptor.isPlain {
            let count = descriptor.elementCount
            let floats = dataPointer.bindMemory(to: Float.self, capacity: count)
            return Tensor(shape: dims, scalars: Array(UnsafeBufferPointer(start: floats, count: count)))
        }
        let staging = try Memory(.plain(descriptor.dims))
        try Reorder.run(from: self, to: staging, context: context)
        return try staging.tensor(context: context)
    }

    /// This memory in `target`'s layout: itself when the layouts agree, otherwise a reordered copy.
    public func converted(to target: MemoryDescriptor, context: ComputeContext) throws -> Memory {
        if descriptor == target { return self }
        let result = try Memory(target)
        try Reorder.run(from: self, to: result, context: context)
        return result
    }

    /// Reads the elements of a plain memory as a Swift array (small buffers: statistics, logits).
    public func plainScalars() -> [Float] {
        precondition(descriptor.isPlain, "plainScalars needs a plain memory, got \(descriptor)")
        let count = descriptor.elementCount
        let floats = dataPointer.bindMemory(to: Float.self, capacity: count)
        return Array(UnsafeBufferPointer(start: floats, count: count))
    }

    /// Overwrites a plain memory from a Swift array of the same element count.
    public func setPlainScalars(_ values: [Float]) {
        precondition(descriptor.isPlain && values.count == descriptor.elementCount,
                     "setPlainScalars: \(values.count) values for \(descriptor)")
        values.withUnsafeBytes { dataPointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    /// `self += other` element-wise for two memories of identical descriptors (gradient accumulation of
    /// small buffers in plain Swift; large activations use the oneDNN sum primitive instead).
    public func addInPlace(_ other: Memory) {
        precondition(descriptor == other.descriptor, "addInPlace: \(descriptor) vs \(other.descriptor)")
        let n = descriptor.byteCount / MemoryLayout<Float>.stride
        let a = dataPointer.bindMemory(to: Float.self, capacity: n)
        let b = other.dataPointer.bindMemory(to: Float.self, capacity: n)
        for i in 0..<n { a[i] += b[i] }
    }
}

extension Memory {
    /// Copies every byte (padding included) of a memory with the same descriptor.
    public func copyBytes(from other: Memory) {
        precondition(descriptor == other.descriptor, "copyBytes: \(descriptor) vs \(other.descriptor)")
        dataPointer.copyMemory(from: other.dataPointer, byteCount: descriptor.byteCount)
    }
}
