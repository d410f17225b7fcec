import CDNNL

/// Element-wise oneDNN primitives (ReLU, ReLU6, square, scaled power), forward and backward, in any layout.
public enum Eltwise {
    /// The functions Graft uses; `power(scale, exponent)` is y = scale · x^exponent.
    public enum Function: Hashable, Sendable {
        case relu, relu6, square
        case power(scale: Float, exponent: Float)

        var parts: (dnnl_alg_kind_t, Float, Float) {
            switch self {
            case .relu: return (dnnl_eltwise_relu, 0, 0)
            // clip_v2 passes the gradient only strictly inside (0, 6), as PyTorch's hardtanh backward does.
            case .relu6: return (dnnl_eltwise_clip_v2, 0, 6)
            case .square: return (dnnl_eltwise_square, 0, 0)
            case .power(let scale, let exponent): return (dnnl_eltwise_pow, scale, exponent)
            }
        }
    }

    /// y = f(x); `data` is the layout of both x and y.
    public static func forward(_ function: Function, data: MemoryDescriptor, training: Bool) throws
        -> PrimitiveDescriptor
    {
        var desc = dnnl_eltwise_desc_t()
        var md = data.raw
        let (alg, alpha, beta) = function.parts
        let detail = "\(function) on \(data)"
        try check(
            dnnl_eltwise_forward_desc_init(
                &desc, training ? dnnl_forward_training : dnnl_forward_inference, alg, &md, alpha, beta),
            "eltwise forward", detail)
        return try PrimitiveDescriptor.create(&desc, operation: "eltwise forward", detail: detail)
    }

    /// dx = dy · f′(x): arguments src (x), diffDst, diffSrc.
    public static func backward(
        _ function: Function, diffData: MemoryDescriptor, data: MemoryDescriptor, hint: PrimitiveDescriptor
    ) throws -> PrimitiveDescriptor {
        var desc = dnnl_eltwise_desc_t()
        var dmd = diffData.raw, md = data.raw
        let (alg, alpha, beta) = function.parts
        let detail = "\(function) on \(data)"
        try check(dnnl_eltwise_backward_desc_init(&desc, alg, &dmd, &md, alpha, beta), "eltwise backward", detail)
        return try PrimitiveDescriptor.create(&desc, operation: "eltwise backward", detail: detail, hint: hint)
    }
}
