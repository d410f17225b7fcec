/// Sums of a plain row-major buffer over some of its axes: the batch and channel reductions of broadcast
/// gradients, where oneDNN 2.6's reduction primitive runs its reference code (25× slower than one pass by hand).
public enum AxisSum {
    /// output[j] = Σ input[i] over the elements i that map to j, where `outputDims` has extent 1 on every summed
    /// axis and the input's extent elsewhere (same rank). Buffers: input Π inputDims, output Π outputDims, plain.
    public static func sum(_ output: UnsafeMutablePointer<Float>, _ input: UnsafePointer<Float>,
                           inputDims: [Int], outputDims: [Int]) {
        precondition(inputDims.count == outputDims.count
                     && zip(inputDims, outputDims).allSatisfy { $1 == $0 || $1 == 1 },
                     "cannot sum \(inputDims) into \(outputDims)")
        let rank = inputDims.count
        output.update(repeating: 0, count: outputDims.reduce(1, *))
        guard rank > 0 else { output[0] = input[0]; return }
        // Output strides, 0 along summed axes: input element (i₀ … iₖ) adds into Σ iₐ·stride[a].
        var strides = [Int](repeating: 0, count: rank)
        var step = 1
        for axis in stride(from: rank - 1, through: 0, by: -1) {
            strides[axis] = outputDims[axis] == 1 ? 0 : step
            step *= outputDims[axis]
        }
        let inner = inputDims[rank - 1], innerSummed = strides[rank - 1] == 0 && inner > 1
        let rows = inputDims.reduce(1, *) / inner
        var index = [Int](repeating: 0, count: rank)  // odometer over the outer axes
        var base = 0
        for row in 0..<rows {
            let source = input + row * inner
            if innerSummed {
                var total: Float = 0
                for k in 0..<inner { total += source[k] }
                output[base] += total
            } else {
                let target = output + base
                for k in 0..<inner { target[k] += source[k] }
            }
            var axis = rank - 2
            while axis >= 0 {
                index[axis] += 1
                base += strides[axis]
                if index[axis] < inputDims[axis] { break }
                base -= strides[axis] * index[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }
}
