// The oneDNN binding: layouts and reorders, typed errors, lanes, sgemm against a naive product, determinism.
import Testing
@testable import Tensors

@Suite struct OneDNNBindingTests {
    static func random(_ count: Int, seed: UInt64) -> [Float] {
        var g = SeededGenerator(seed: seed)
        return (0..<count).map { _ in g.nextGaussian() }
    }

    @Test func plainToBlockedAndBackIsExactIncludingPaddedChannels() throws {
        let context = ComputeContext(threads: 1)
        // 3 channels: a 16-channel-blocked layout pads them; the conv decides which layout it wants.
        let dims = [2, 3, 5, 7]
        let pd = try Convolution.forward(
            source: .any(dims), weights: .any([16, 3, 3, 3]), bias: nil, destination: .any([2, 16, 5, 7]),
            geometry: ConvolutionGeometry(strides: [1, 1], dilations: [1, 1], paddingBegin: [1, 1], paddingEnd: [1, 1], groups: 1),
            training: true)
        let blocked = pd.memoryDescriptor(.dst)
        #expect(!blocked.isPlain, "oneDNN should choose a blocked destination on this CPU, got \(blocked)")
        let tensor = Tensor(shape: [2, 16, 5, 7], scalars: Self.random(2 * 16 * 35, seed: 1))
        let memory = try Memory(blocked)
        try memory.write(tensor, context: context)
        #expect(try memory.tensor(context: context) == tensor)
        #expect(blocked.dims == [2, 16, 5, 7] && blocked.elementCount == 2 * 16 * 35)
    }

    @Test func convolutionMatchesNaiveLoopsInBlockedLayouts() throws {
        let context = ComputeContext(threads: 2)
        let x = Tensor(shape: [2, 8, 6, 5], scalars: Self.random(480, seed: 2))
        let w = Tensor(shape: [16, 8, 3, 3], scalars: Self.random(16 * 72, seed: 3))
        let geometry = ConvolutionGeometry(strides: [2, 1], dilations: [1, 2], paddingBegin: [1, 2], paddingEnd: [0, 1], groups: 1)
        let out = geometry.outputSize(input: [6, 5], kernel: [3, 3])!
        let pd = try Convolution.forward(source: .any(x.shape), weights: .any(w.shape), bias: nil,
                                         destination: .any([2, 16] + out), geometry: geometry, training: false)
        let (xm, wm, ym) = (try Memory(pd.memoryDescriptor(.src)), try Memory(pd.memoryDescriptor(.weights)),
                            try Memory(pd.memoryDescriptor(.dst)))
        try xm.write(x, context: context)
        try wm.write(w, context: context)
        try pd.makePrimitive().execute(
            [(PrimitiveArgument.src, xm), (PrimitiveArgument.weights, wm), (PrimitiveArgument.dst, ym)], context: context)
        let y = try ym.tensor(context: context)
        var worst: Float = 0
        for n in 0..<2 { for o in 0..<16 { for i in 0..<out[0] { for j in 0..<out[1] {
            var acc = 0.0
            for c in 0..<8 { for a in 0..<3 { for b in 0..<3 {
                let h = i * 2 - 1 + a, v = j - 2 + b * 2
                guard h >= 0, h < 6, v >= 0, v < 5 else { continue }
                acc += Double(x.scalars[((n * 8 + c) * 6 + h) * 5 + v]) * Double(w.scalars[((o * 8 + c) * 3 + a) * 3 + b])
            }}}
            let got = y.scalars[((n * 16 + o) * out[0] + i) * out[1] + j]
            worst = max(worst, abs(got - Float(acc)) / (1 + abs(Float(acc))))
        }}}}
        #expect(worst < 1e-5)
    }

    @Test func failuresAreTypedAndNameTheOperationAndShapes() {
        // A 5×5 kernel on a 2×2 input without padding: oneDNN refuses the descriptor.
        let geometry = ConvolutionGeometry(strides: [1, 1], dilations: [1, 1], paddingBegin: [0, 0], paddingEnd: [0, 0], groups: 1)
        let error = #expect(throws: DNNLError.self) {
            _ = try Convolution.forward(source: .any([1, 3, 2, 2]), weights: .any([4, 3, 5, 5]), bias: nil,
                                        destination: .any([1, 4, 1, 1]), geometry: geometry, training: true)
        }
        #expect(error?.operation == "convolution forward")
        #expect(error?.detail.contains("1×3×2×2") == true && error?.detail.contains("4×3×5×5") == true)
        #expect(error?.status == "invalid_arguments")
    }

    @Test func lanesSplitTheCores() {
        #expect(ComputeContext.lanes(2, cores: 2).map(\.threads) == [1, 1])
        #expect(ComputeContext.lanes(2, cores: 5).map(\.threads) == [3, 2])
        #expect(ComputeContext.lanes(3, cores: 2).map(\.threads) == [1, 1, 1])
    }

    @Test func sgemmMatchesNaiveProduct() throws {
        let (m, n, k) = (17, 9, 23)
        let a = Self.random(m * k, seed: 4), b = Self.random(k * n, seed: 5)
        var c = [Float](repeating: 0, count: m * n)
        try Sgemm.multiply(a, b, into: &c, m: m, n: n, k: k, context: ComputeContext(threads: 2))
        for i in 0..<m { for j in 0..<n {
            let expected = (0..<k).reduce(0.0) { $0 + Double(a[i * k + $1]) * Double(b[$1 * n + j]) }
            #expect(abs(Double(c[i * n + j]) - expected) < 1e-4 * (1 + abs(expected)))
        }}
    }

    /// Backward-weights reduces over the batch; with a fixed thread count the result is bit-identical.
    @Test func backwardWeightsIsDeterministicForAThreadCount() throws {
        let context = ComputeContext(threads: 2)
        let geometry = ConvolutionGeometry(strides: [1, 1], dilations: [1, 1], paddingBegin: [1, 1], paddingEnd: [1, 1], groups: 1)
        let forward = try Convolution.forward(source: .any([16, 16, 14, 14]), weights: .any([16, 16, 3, 3]), bias: nil,
                                              destination: .any([16, 16, 14, 14]), geometry: geometry, training: true)
        let pd = try Convolution.backwardWeights(
            source: .any([16, 16, 14, 14]), diffWeights: .any([16, 16, 3, 3]), diffBias: .plain([16]),
            diffDestination: .any([16, 16, 14, 14]), geometry: geometry, hint: forward)
        let primitive = try pd.makePrimitive()
        let x = try Memory(pd.memoryDescriptor(.src)), dy = try Memory(pd.memoryDescriptor(.diffDst))
        try x.write(Tensor(shape: [16, 16, 14, 14], scalars: Self.random(16 * 16 * 196, seed: 6)), context: context)
        try dy.write(Tensor(shape: [16, 16, 14, 14], scalars: Self.random(16 * 16 * 196, seed: 7)), context: context)
        var results: [[Float]] = []
        for _ in 0..<3 {
            let dw = try Memory(pd.memoryDescriptor(.diffWeights)), db = try Memory(.plain([16]))
            try primitive.execute([(PrimitiveArgument.src, x), (PrimitiveArgument.diffDst, dy),
                                   (PrimitiveArgument.diffWeights, dw), (PrimitiveArgument.diffBias, db)], context: context)
            results.append(try dw.tensor(context: context).scalars + db.plainScalars())
        }
        #expect(results[0] == results[1] && results[1] == results[2])
    }
}
