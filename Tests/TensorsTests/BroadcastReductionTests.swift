// Sums over broadcast axes (the gradients of broadcast inputs) against naive loops: the plain AxisSum kernel, and
// BroadcastReduction on the layouts convolutions choose, for every subset of summed axes.
import Testing
@testable import Tensors

@Suite struct BroadcastReductionTests {
    /// Σ over the axes where `target` is 1, by index arithmetic on every element.
    static func naiveSum(_ x: Tensor, into target: [Int]) -> Tensor {
        let dims = x.shape
        var out = [Double](repeating: 0, count: target.reduce(1, *))
        var index = [Int](repeating: 0, count: dims.count)
        for value in x.scalars {
            var offset = 0
            for axis in dims.indices { offset = offset * target[axis] + (target[axis] == 1 ? 0 : index[axis]) }
            out[offset] += Double(value)
            var axis = dims.count - 1
            while axis >= 0 { index[axis] += 1; if index[axis] < dims[axis] { break }; index[axis] = 0; axis -= 1 }
        }
        return Tensor(shape: target, scalars: out.map { Float($0) })
    }

    static func close(_ a: Tensor, _ b: Tensor) -> Bool {
        a.shape == b.shape && zip(a.scalars, b.scalars).allSatisfy { abs($0 - $1) <= 1e-4 * max(1, abs($1)) }
    }

    /// All 16 subsets of summed axes of a 3×20×5×7 tensor (20 channels: two 16-blocks, the second padded).
    static let targets: [[Int]] = (0..<16).map { mask in
        [3, 20, 5, 7].enumerated().map { axis, extent in mask & (1 << axis) != 0 ? 1 : extent }
    }

    @Test(arguments: targets)
    func axisSumMatchesNaiveLoops(target: [Int]) {
        var g = SeededGenerator(seed: 30)
        let x = Tensor(shape: [3, 20, 5, 7], scalars: (0..<2100).map { _ in g.nextGaussian() })
        var out = [Float](repeating: .nan, count: target.reduce(1, *))
        x.scalars.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                AxisSum.sum(output.baseAddress!, input.baseAddress!, inputDims: x.shape, outputDims: target)
            }
        }
        #expect(Self.close(Tensor(shape: target, scalars: out), Self.naiveSum(x, into: target)))
    }

    /// Convolutions of 4 input channels choose a 16-channel-blocked result here, of 16 a channels-last one.
    @Test(arguments: targets, [4, 16])
    func reductionMatchesNaiveLoopsInConvolutionLayouts(target: [Int], inputChannels: Int) throws {
        let context = ComputeContext(threads: 2)
        let dims = [3, 20, 5, 7]
        let pd = try Convolution.forward(
            source: .any([3, inputChannels, 5, 7]), weights: .any([20, inputChannels, 3, 3]), bias: nil,
            destination: .any(dims),
            geometry: ConvolutionGeometry(strides: [1, 1], dilations: [1, 1], paddingBegin: [1, 1], paddingEnd: [1, 1],
                                          groups: 1), training: false)
        let blocked = pd.memoryDescriptor(.dst)
        #expect(!blocked.isPlain)
        var g = SeededGenerator(seed: 31)
        let x = Tensor(shape: dims, scalars: (0..<2100).map { _ in g.nextGaussian() })
        let memory = try Memory(blocked)
        try memory.write(x, context: context)
        let reduction = try BroadcastReduction(source: blocked, targetDims: target, context: context)
        let result = try reduction(memory).tensor(context: context)
        #expect(Self.close(result, Self.naiveSum(x, into: target)), "\(target) from \(blocked)")
    }

    /// A broadcast operand in the full operand's layout at its own dims is what a convolution would give it, for
    /// the channel-blocked layout (4 input channels) and the channels-last one (16) oneDNN picks on this CPU.
    @Test(arguments: [4, 16])
    func withDimsGivesTheLayoutAConvolutionChoosesForThoseDims(inputChannels: Int) throws {
        func convolutionOutput(_ dims: [Int]) throws -> MemoryDescriptor {
            try Convolution.forward(
                source: .any([dims[0], inputChannels, dims[2], dims[3]]), weights: .any([dims[1], inputChannels, 3, 3]),
                bias: nil, destination: .any(dims),
                geometry: ConvolutionGeometry(strides: [1, 1], dilations: [1, 1], paddingBegin: [1, 1], paddingEnd: [1, 1],
                                              groups: 1), training: false).memoryDescriptor(.dst)
        }
        let full = try convolutionOutput([4, 24, 14, 14])
        #expect(!full.isPlain)
        for dims in [[4, 24, 1, 1], [4, 24, 14, 14], [4, 24, 1, 14], [1, 24, 14, 1]] {
            #expect(full.withDims(dims) == (try convolutionOutput(dims)), "\(full) as \(dims)")
        }
        #expect(MemoryDescriptor.plain([2, 3, 4, 5]).withDims([2, 1, 4, 1]) == .plain([2, 1, 4, 1]))
    }
}
