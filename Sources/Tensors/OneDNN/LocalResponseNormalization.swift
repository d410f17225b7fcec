import CDNNL

/// oneDNN local response normalisation across channels (forward and backward), in the data's own layout.
///
/// y_c = x_c / (k + α/n · Σ_{c′ ∈ window(c)} x_{c′}²)^β over a window of n channels centred on c: oneDNN divides
/// α by the window size itself, as PyTorch's `nn.LocalResponseNorm` does, so both take the same α. Training
/// writes a workspace that backward reads.
public enum LocalResponseNormalization {
    public struct Parameters: Hashable, Sendable {
        public var size: Int
        public var alpha: Float
        public var beta: Float
        public var k: Float

        public init(size: Int, alpha: Float, beta: Float, k: Float) {
            self.size = size
            self.alpha = alpha
            self.beta = beta
            self.k = k
        }
    }

    /// y from x; `data` is the layout of both.
    public static func forward(data: MemoryDescriptor, _ p: Parameters, training: Bool) throws -> PrimitiveDescriptor {
        var desc = dnnl_lrn_desc_t()
        var md = data.raw
        let detail = "data \(data), \(p)"
        try check(
            dnnl_lrn_forward_desc_init(
                &desc, training ? dnnl_forward_training : dnnl_forward_inference, dnnl_lrn_across_channels, &md,
                Int64(p.size), p.alpha, p.beta, p.k),
            "lrn forward", detail)
        return try PrimitiveDescriptor.create(&desc, operation: "lrn forward", detail: detail)
    }

    /// dx from x and dy: arguments src (x), diffDst, workspace, diffSrc.
    public static func backward(diffData: MemoryDescriptor, data: MemoryDescriptor, _ p: Parameters,
                                hint: PrimitiveDescriptor) throws -> PrimitiveDescriptor {
        var desc = dnnl_lrn_desc_t()
        var dmd = diffData.raw, md = data.raw
        let detail = "data \(data), \(p)"
        try check(
            dnnl_lrn_backward_desc_init(&desc, dnnl_lrn_across_channels, &dmd, &md, Int64(p.size), p.alpha, p.beta, p.k),
            "lrn backward", detail)
        return try PrimitiveDescriptor.create(&desc, operation: "lrn backward", detail: detail, hint: hint)
    }
}
