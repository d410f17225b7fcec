import CDNNL

/// oneDNN batch normalisation over N×C×H×W (per channel), with separate scale (γ) and shift (β).
///
/// Training forward computes the batch mean and the biased variance (divides by N·H·W) as outputs; inference
/// forward reads given statistics. Backward (prop kind `backward`) gives dx, dγ and dβ; with
/// `globalStatistics` it treats μ and σ² as constants (a BatchNorm running in inference mode).
public enum BatchNormalization {
    static let scaleShift = dnnl_use_scale.rawValue | dnnl_use_shift.rawValue

    /// With `fuseReLU` the output is max(y, 0) and training keeps a workspace (the ReLU mask) for backward.
    public static func forward(data: MemoryDescriptor, epsilon: Float, training: Bool, fuseReLU: Bool = false) throws
        -> PrimitiveDescriptor
    {
        var desc = dnnl_batch_normalization_desc_t()
        var md = data.raw
        var flags = training ? scaleShift : scaleShift | dnnl_use_global_stats.rawValue
        if fuseReLU { flags |= dnnl_fuse_norm_relu.rawValue }
        let detail = "data \(data), eps \(epsilon), \(training ? "training" : "inference")"
        try check(
            dnnl_batch_normalization_forward_desc_init(
                &desc, training ? dnnl_forward_training : dnnl_forward_inference, &md, epsilon, flags),
            "batch normalization forward", detail)
        return try PrimitiveDescriptor.create(&desc, operation: "batch normalization forward", detail: detail)
    }

    public static func backward(
        diffData: MemoryDescriptor, data: MemoryDescriptor, epsilon: Float, hint: PrimitiveDescriptor,
        globalStatistics: Bool = false, fuseReLU: Bool = false
    ) throws -> PrimitiveDescriptor {
        var desc = dnnl_batch_normalization_desc_t()
        var dmd = diffData.raw, md = data.raw
        let detail = "data \(data), eps \(epsilon)"
        var flags = globalStatistics ? scaleShift | dnnl_use_global_stats.rawValue : scaleShift
        if fuseReLU { flags |= dnnl_fuse_norm_relu.rawValue }
        try check(
            dnnl_batch_normalization_backward_desc_init(&desc, dnnl_backward, &dmd, &md, epsilon, flags),
            "batch normalization backward", detail)
        return try PrimitiveDescriptor.create(
            &desc, operation: "batch normalization backward", detail: detail, hint: hint)
    }
}
