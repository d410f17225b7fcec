import CDNNL

/// oneDNN 2-D pooling (max, average with or without padding in the divisor), forward and backward.
///
/// Shapes: source N×C×H×W, destination N×C×OH×OW with OH as for convolution. Dilation uses PyTorch's convention
/// (1 = dense). Max pooling in training writes a workspace (the arg-max positions) that backward needs.
public enum Pooling {
    public enum Kind: Hashable, Sendable {
        case max
        case average(countIncludePad: Bool)

        var algorithm: dnnl_alg_kind_t {
            switch self {
            case .max: return dnnl_pooling_max
            case .average(let include):
                return include ? dnnl_pooling_avg_include_padding : dnnl_pooling_avg_exclude_padding
            }
        }
    }

    public static func forward(
        _ kind: Kind, source: MemoryDescriptor, destination: MemoryDescriptor, kernel: [Int], strides: [Int],
        paddingBegin: [Int], paddingEnd: [Int], dilation: [Int] = [1, 1], training: Bool, postOps: [PostOp] = []
    ) throws -> PrimitiveDescriptor {
        var desc = dnnl_pooling_v2_desc_t()
        var s = source.raw, d = destination.raw
        let (k, st, dil, pl, pr) = dims(kernel, strides, paddingBegin, paddingEnd, dilation)
        let detail = "\(kind) src \(source), dst \(destination), kernel \(kernel), stride \(strides), "
            + "padding \(paddingBegin)/\(paddingEnd), dilation \(dilation)"
        try check(
            dnnl_pooling_v2_forward_desc_init(
                &desc, training ? dnnl_forward_training : dnnl_forward_inference, kind.algorithm, &s, &d,
                st, k, dil, pl, pr),
            "pooling forward", detail)
        return try PrimitiveDescriptor.create(&desc, operation: "pooling forward", detail: detail, postOps: postOps)
    }

    public static func backward(
        _ kind: Kind, diffSource: MemoryDescriptor, diffDestination: MemoryDescriptor, kernel: [Int],
        strides: [Int], paddingBegin: [Int], paddingEnd: [Int], dilation: [Int] = [1, 1], hint: PrimitiveDescriptor
    ) throws -> PrimitiveDescriptor {
        var desc = dnnl_pooling_v2_desc_t()
        var s = diffSource.raw, d = diffDestination.raw
        let (k, st, dil, pl, pr) = dims(kernel, strides, paddingBegin, paddingEnd, dilation)
        let detail = "\(kind) diff src \(diffSource), diff dst \(diffDestination), kernel \(kernel)"
        try check(
            dnnl_pooling_v2_backward_desc_init(
                &desc, kind.algorithm, &s, &d, st, k, dil, pl, pr),
            "pooling backward", detail)
        return try PrimitiveDescriptor.create(&desc, operation: "pooling backward", detail: detail, hint: hint)
    }

    /// Kernel, strides, oneDNN dilation (counted from 0) and both paddings as the `dnnl_dims_t` arrays pooling
    /// descriptors take.
    private static func dims(_ kernel: [Int], _ strides: [Int], _ paddingBegin: [Int], _ paddingEnd: [Int],
                             _ dilation: [Int]) -> ([Int64], [Int64], [Int64], [Int64], [Int64]) {
        (makeDims(kernel), makeDims(strides), makeDims(dilation.map { $0 - 1 }), makeDims(paddingBegin),
         makeDims(paddingEnd))
    }
}
