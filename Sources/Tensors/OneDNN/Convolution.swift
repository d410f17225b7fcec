import CDNNL

/// Spatial geometry of a 2-D convolution in PyTorch terms (dilation 1 = dense kernel).
public struct ConvolutionGeometry: Hashable, Sendable {
    public var strides: [Int]
    /// PyTorch dilation (1 = no gaps); oneDNN counts from 0, converted in `oneDNNDilations`.
    public var dilations: [Int]
    /// Padding before (top, left) and after (bottom, right); asymmetric allowed (TensorFlow "same").
    public var paddingBegin: [Int]
    public var paddingEnd: [Int]
    public var groups: Int

    public init(strides: [Int], dilations: [Int], paddingBegin: [Int], paddingEnd: [Int], groups: Int) {
        self.strides = strides
        self.dilations = dilations
        self.paddingBegin = paddingBegin
        self.paddingEnd = paddingEnd
        self.groups = groups
    }

    var oneDNNDilations: [Int] { dilations.map { $0 - 1 } }

    /// Strides, oneDNN dilations and both paddings as the `dnnl_dims_t` arrays every convolution descriptor takes.
    var oneDNNDims: (strides: [Int64], dilations: [Int64], paddingBegin: [Int64], paddingEnd: [Int64]) {
        (makeDims(strides), makeDims(oneDNNDilations), makeDims(paddingBegin), makeDims(paddingEnd))
    }

    /// `O = floor((I + P_begin + P_end - D·(K-1) - 1) / S) + 1` per spatial axis; nil when not positive.
    public func outputSize(input: [Int], kernel: [Int]) -> [Int]? {
        var sizes: [Int] = []
        for i in 0..<2 {
            let padded: Int = input[i] + paddingBegin[i] + paddingEnd[i]
            let span: Int = dilations[i] * (kernel[i] - 1) + 1
            guard padded >= span, strides[i] > 0 else { return nil }
            sizes.append((padded - span) / strides[i] + 1)
        }
        return sizes
    }
}

/// oneDNN convolution primitives (forward, backward data, backward weights), direct algorithm.
///
/// Shapes: source N×C×H×W, weights O×(C/G)×KH×KW (or G×(O/G)×(C/G)×KH×KW when G > 1, the same bytes as
/// PyTorch's O×(C/G)×KH×KW), bias O, destination N×O×OH×OW. Pass `.any` descriptors to let oneDNN choose.
public enum Convolution {
    /// Weights dims oneDNN expects for `groups`.
    public static func weightsDims(output: Int, input: Int, kernel: [Int], groups: Int) -> [Int] {
        groups == 1
            ? [output, input, kernel[0], kernel[1]]
            : [groups, output / groups, input / groups, kernel[0], kernel[1]]
    }

    public static func forward(
        source: MemoryDescriptor, weights: MemoryDescriptor, bias: MemoryDescriptor?,
        destination: MemoryDescriptor, geometry: ConvolutionGeometry, training: Bool, postOps: [PostOp] = []
    ) throws -> PrimitiveDescriptor {
        var desc = dnnl_convolution_desc_t()
        var s = source.raw, w = weights.raw, d = destination.raw
        var b = bias?.raw ?? dnnl_memory_desc_t()
        let (st, di, pl, pr) = geometry.oneDNNDims
        let detail = describe(source, weights, destination, geometry)
        try check(
            dnnl_dilated_convolution_forward_desc_init(
                &desc, training ? dnnl_forward_training : dnnl_forward_inference, dnnl_convolution_direct,
                &s, &w, &b, &d, st, di, pl, pr),
            "convolution forward", detail)
        return try PrimitiveDescriptor.create(&desc, operation: "convolution forward", detail: detail, postOps: postOps)
    }

    public static func backwardData(
        diffSource: MemoryDescriptor, weights: MemoryDescriptor, diffDestination: MemoryDescriptor,
        geometry: ConvolutionGeometry, hint: PrimitiveDescriptor
    ) throws -> PrimitiveDescriptor {
        var desc = dnnl_convolution_desc_t()
        var s = diffSource.raw, w = weights.raw, d = diffDestination.raw
        let (st, di, pl, pr) = geometry.oneDNNDims
        let detail = describe(diffSource, weights, diffDestination, geometry)
        try check(
            dnnl_dilated_convolution_backward_data_desc_init(
                &desc, dnnl_convolution_direct, &s, &w, &d, st, di, pl, pr),
            "convolution backward data", detail)
        return try PrimitiveDescriptor.create(&desc, operation: "convolution backward data", detail: detail, hint: hint)
    }

    public static func backwardWeights(
        source: MemoryDescriptor, diffWeights: MemoryDescriptor, diffBias: MemoryDescriptor?,
        diffDestination: MemoryDescriptor, geometry: ConvolutionGeometry, hint: PrimitiveDescriptor
    ) throws -> PrimitiveDescriptor {
        var desc = dnnl_convolution_desc_t()
        var s = source.raw, w = diffWeights.raw, d = diffDestination.raw
        var b = diffBias?.raw ?? dnnl_memory_desc_t()
        let (st, di, pl, pr) = geometry.oneDNNDims
        let detail = describe(source, diffWeights, diffDestination, geometry)
        try check(
            dnnl_dilated_convolution_backward_weights_desc_init(
                &desc, dnnl_convolution_direct, &s, &w, &b, &d,
                st, di, pl, pr),
            "convolution backward weights", detail)
        return try PrimitiveDescriptor.create(
            &desc, operation: "convolution backward weights", detail: detail, hint: hint)
    }

    private static func describe(
        _ s: MemoryDescriptor, _ w: MemoryDescriptor, _ d: MemoryDescriptor, _ g: ConvolutionGeometry
    ) -> String {
        "src \(s), weights \(w), dst \(d), stride \(g.strides), dilation \(g.dilations), "
            + "padding \(g.paddingBegin)/\(g.paddingEnd), groups \(g.groups)"
    }
}
