import CDNNL

/// oneDNN softmax along one axis (forward and backward), in the data's own layout.
public enum Softmax {
    public static func forward(data: MemoryDescriptor, axis: Int, training: Bool) throws -> PrimitiveDescriptor {
        var desc = dnnl_softmax_desc_t()
        var md = data.raw
        let detail = "data \(data), axis \(axis)"
        try check(
            dnnl_softmax_forward_desc_init(
                &desc, training ? dnnl_forward_training : dnnl_forward_inference, &md, Int32(axis)),
            "softmax forward", detail)
        return try PrimitiveDescriptor.create(&desc, operation: "softmax forward", detail: detail)
    }

    /// dx = y ⊙ (dy − Σ dy·y): arguments dst (y), diffDst, diffSrc.
    public static func backward(diffData: MemoryDescriptor, data: MemoryDescriptor, axis: Int, hint: PrimitiveDescriptor)
        throws -> PrimitiveDescriptor
    {
        var desc = dnnl_softmax_desc_t()
        var dmd = diffData.raw, md = data.raw
        let detail = "data \(data), axis \(axis)"
        try check(dnnl_softmax_backward_desc_init(&desc, &dmd, &md, Int32(axis)), "softmax backward", detail)
        return try PrimitiveDescriptor.create(&desc, operation: "softmax backward", detail: detail, hint: hint)
    }
}
