import CDNNL

/// oneDNN's shuffle along one axis (forward and backward), in the data's own layout.
///
/// oneDNN views the axis of extent C as a (C/G)×G matrix and transposes it, G being its `group_size`; PyTorch's
/// `nn.ChannelShuffle(g)` views it as g×(C/g) and transposes that, so PyTorch's g is oneDNN's C/g.
public enum Shuffle {
    public static func forward(data: MemoryDescriptor, axis: Int, groupSize: Int, training: Bool) throws
        -> PrimitiveDescriptor
    {
        var desc = dnnl_shuffle_desc_t()
        var md = data.raw
        let detail = "data \(data), axis \(axis), group size \(groupSize)"
        try check(
            dnnl_shuffle_forward_desc_init(
                &desc, training ? dnnl_forward_training : dnnl_forward_inference, &md, Int32(axis), Int64(groupSize)),
            "shuffle forward", detail)
        return try PrimitiveDescriptor.create(&desc, operation: "shuffle forward", detail: detail)
    }

    /// The inverse permutation of the forward's: arguments diffDst, diffSrc.
    public static func backward(diffData: MemoryDescriptor, axis: Int, groupSize: Int, hint: PrimitiveDescriptor)
        throws -> PrimitiveDescriptor
    {
        var desc = dnnl_shuffle_desc_t()
        var md = diffData.raw
        let detail = "diff data \(diffData), axis \(axis), group size \(groupSize)"
        try check(dnnl_shuffle_backward_desc_init(&desc, &md, Int32(axis), Int64(groupSize)), "shuffle backward", detail)
        return try PrimitiveDescriptor.create(&desc, operation: "shuffle backward", detail: detail, hint: hint)
    }
}
