import CDNNL

/// Sums a memory over the axes where a target shape has extent 1: the gradient of an input that was broadcast.
///
/// Spatial axes (of N×C×H×W) reduce on oneDNN's average pooling scaled back to a sum by a post-op — its jit kernels
/// take the blocked layouts, where oneDNN 2.6's reduction primitive has only reference code (195 ms against under
/// 1 ms for 32×72×56×56 → 32×72×1×1 on two cores). Batch and channel axes, rare in networks, reduce in a plain
/// copy by `AxisSum`. Compiled once for a source layout; the result is valid until the next call.
public final class BroadcastReduction {
    /// The source layout this was compiled for and the layout of every result.
    public let source: MemoryDescriptor
    public let output: MemoryDescriptor
    private let context: ComputeContext
    private let pooling: (primitive: Primitive, destination: Memory)?
    private let plain: (adapter: LayoutAdapter, destination: Memory)?

    /// `targetDims`: the source's dims with 1 on every axis to sum (same rank).
    public init(source: MemoryDescriptor, targetDims: [Int], context: ComputeContext) throws {
        let dims = source.dims
        precondition(dims.count == targetDims.count && zip(dims, targetDims).allSatisfy { $1 == $0 || $1 == 1 },
                     "cannot sum \(source) into \(targetDims)")
        self.source = source
        self.context = context
        context.activate()
        var current = source
        if dims.count == 4, (2...3).contains(where: { targetDims[$0] == 1 && dims[$0] > 1 }) {
            // y = Σ over the window = (average over the window) · its area
            let kernel = [targetDims[2] == 1 ? dims[2] : 1, targetDims[3] == 1 ? dims[3] : 1]
            let pooledDims = [dims[0], dims[1], targetDims[2], targetDims[3]]
            let pd = try Pooling.forward(
                .average(countIncludePad: false), source: source, destination: source.withDims(pooledDims),
                kernel: kernel, strides: [1, 1], paddingBegin: [0, 0], paddingEnd: [0, 0], training: false,
                postOps: [.eltwise(.linear(scale: Float(kernel[0] * kernel[1]), shift: 0))])
            let destination = try Memory(pd.memoryDescriptor(.dst))
            pooling = (try pd.makePrimitive(), destination)
            current = destination.descriptor
        } else {
            pooling = nil
        }
        if current.dims != targetDims {
            plain = (LayoutAdapter(target: .plain(current.dims), context: context), try Memory(.plain(targetDims)))
            output = .plain(targetDims)
        } else {
            plain = nil
            output = current
        }
    }

    /// The sum of `memory` (in `source`'s layout) over the target's axes of extent 1.
    public func callAsFunction(_ memory: Memory) throws -> Memory {
        precondition(memory.descriptor == source, "BroadcastReduction for \(source) given \(memory.descriptor)")
        var current = memory
        if let pooling {
            try pooling.primitive.execute(
                [(PrimitiveArgument.src, current), (PrimitiveArgument.dst, pooling.destination)], context: context)
            current = pooling.destination
        }
        guard let plain else { return current }
        let flat = try plain.adapter(current)
        AxisSum.sum(plain.destination.dataPointer.bindMemory(to: Float.self, capacity: plain.destination.dims.reduce(1, *)),
                    UnsafePointer(flat.dataPointer.bindMemory(to: Float.self, capacity: flat.dims.reduce(1, *))),
                    inputDims: flat.dims, outputDims: plain.destination.dims)
        return plain.destination
    }
}
