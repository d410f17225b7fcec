import CDNNL

/// oneDNN inner product (fully connected): source N×I, weights O×I (PyTorch's Linear layout), bias O,
/// destination N×O. Forward, backward data and backward weights.
public enum InnerProduct {
    public static func forward(
        source: MemoryDescriptor, weights: MemoryDescriptor, bias: MemoryDescriptor?, destination: MemoryDescriptor,
        training: Bool, postOps: [PostOp] = []
    ) throws -> PrimitiveDescriptor {
        var desc = dnnl_inner_product_desc_t()
        var s = source.raw, w = weights.raw, d = destination.raw, b = bias?.raw ?? dnnl_memory_desc_t()
        let detail = "src \(source), weights \(weights), dst \(destination)"
        try check(
            dnnl_inner_product_forward_desc_init(
                &desc, training ? dnnl_forward_training : dnnl_forward_inference, &s, &w, &b, &d),
            "inner product forward", detail)
        return try PrimitiveDescriptor.create(&desc, operation: "inner product forward", detail: detail, postOps: postOps)
    }

    public static func backwardData(
        diffSource: MemoryDescriptor, weights: MemoryDescriptor, diffDestination: MemoryDescriptor,
        hint: PrimitiveDescriptor
    ) throws -> PrimitiveDescriptor {
        var desc = dnnl_inner_product_desc_t()
        var s = diffSource.raw, w = weights.raw, d = diffDestination.raw
        let detail = "diff src \(diffSource), weights \(weights), diff dst \(diffDestination)"
        try check(dnnl_inner_product_backward_data_desc_init(&desc, &s, &w, &d), "inner product backward data", detail)
        return try PrimitiveDescriptor.create(
            &desc, operation: "inner product backward data", detail: detail, hint: hint)
    }

    public static func backwardWeights(
        source: MemoryDescriptor, diffWeights: MemoryDescriptor, diffBias: MemoryDescriptor?,
        diffDestination: MemoryDescriptor, hint: PrimitiveDescriptor
    ) throws -> PrimitiveDescriptor {
        var desc = dnnl_inner_product_desc_t()
        var s = source.raw, w = diffWeights.raw, d = diffDestination.raw, b = diffBias?.raw ?? dnnl_memory_desc_t()
        let detail = "src \(source), diff weights \(diffWeights), diff dst \(diffDestination)"
        try check(
            dnnl_inner_product_backward_weights_desc_init(&desc, &s, &w, &b, &d),
            "inner product backward weights", detail)
        return try PrimitiveDescriptor.create(
            &desc, operation: "inner product backward weights", detail: detail, hint: hint)
    }
}
