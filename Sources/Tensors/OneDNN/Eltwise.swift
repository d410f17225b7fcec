import CDNNL

/// Element-wise oneDNN primitives (activations, square, scaled power), forward and backward, in any layout.
public enum Eltwise {
    /// The functions Graft uses. Each runs as one oneDNN algorithm except `hardSigmoid`, which oneDNN 2.6 lacks
    /// and which runs as its `stages`: linear, then clip.
    public enum Function: Hashable, Sendable {
        case relu, relu6, square
        /// y = scale · x^exponent.
        case power(scale: Float, exponent: Float)
        /// y = 1 / (1 + e^−x).
        case sigmoid
        /// y = x · sigmoid(x) (SiLU, swish with β = 1).
        case silu
        /// y = x · relu6(x + 3) / 6.
        case hardSwish
        /// y = x for x > 0, slope · x otherwise.
        case leakyReLU(slope: Float)
        /// y = min(max(x, lower), upper); infinite bounds leave that side open.
        case clip(lower: Float, upper: Float)
        /// y = scale · x + shift.
        case linear(scale: Float, shift: Float)
        /// y = clip(scale · x + shift, 0, 1).
        case hardSigmoid(scale: Float, shift: Float)

        /// The single-algorithm functions this one applies in order (itself, unless it is composed).
        public var stages: [Function] {
            switch self {
            case .hardSigmoid(let scale, let shift): return [.linear(scale: scale, shift: shift), .clip(lower: 0, upper: 1)]
            default: return [self]
            }
        }

        var parts: (dnnl_alg_kind_t, Float, Float) {
            switch self {
            case .relu: return (dnnl_eltwise_relu, 0, 0)
            // clip_v2 passes the gradient only strictly inside its bounds, as PyTorch's hardtanh (ReLU6) backward does.
            case .relu6: return (dnnl_eltwise_clip_v2, 0, 6)
            case .square: return (dnnl_eltwise_square, 0, 0)
            case .power(let scale, let exponent): return (dnnl_eltwise_pow, scale, exponent)
            case .sigmoid: return (dnnl_eltwise_logistic, 0, 0)
            case .silu: return (dnnl_eltwise_swish, 1, 0)
            case .hardSwish: return (dnnl_eltwise_hardswish, 0, 0)
            // relu's alpha is the slope below zero; its backward gives the slope at 0 as PyTorch's does.
            case .leakyReLU(let slope): return (dnnl_eltwise_relu, slope, 0)
            case .clip(let lower, let upper): return (dnnl_eltwise_clip_v2, lower, upper)
            case .linear(let scale, let shift): return (dnnl_eltwise_linear, scale, shift)
            case .hardSigmoid: preconditionFailure("hardSigmoid runs as its stages")
            }
        }

        /// The algorithm, alpha and beta of each stage, as post-ops take them.
        var algorithms: [(dnnl_alg_kind_t, Float, Float)] { stages.map(\.parts) }
    }

    /// y = f(x) for a single-stage `function`; `data` is the layout of both x and y.
    public static func forward(_ function: Function, data: MemoryDescriptor, training: Bool) throws
        -> PrimitiveDescriptor
    {
        precondition(function.stages == [function], "\(function) runs as the stages \(function.stages)")
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

    /// dx = dy · f′(x) for a single-stage `function`: arguments src (x), diffDst, diffSrc.
    public static func backward(
        _ function: Function, diffData: MemoryDescriptor, data: MemoryDescriptor, hint: PrimitiveDescriptor
    ) throws -> PrimitiveDescriptor {
        precondition(function.stages == [function], "\(function) runs as the stages \(function.stages)")
        var desc = dnnl_eltwise_desc_t()
        var dmd = diffData.raw, md = data.raw
        let (alg, alpha, beta) = function.parts
        let detail = "\(function) on \(data)"
        try check(dnnl_eltwise_backward_desc_init(&desc, alg, &dmd, &md, alpha, beta), "eltwise backward", detail)
        return try PrimitiveDescriptor.create(&desc, operation: "eltwise backward", detail: detail, hint: hint)
    }
}
