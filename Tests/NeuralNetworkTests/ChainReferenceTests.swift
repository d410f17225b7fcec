// The oneDNN path against the plain-Swift references, through chains of layers so that blocked layouts and
// the reorders between them are exercised: stride 2, asymmetric padding, dilation 2, groups, depthwise,
// batch > 1, odd sizes; forward and backward (input and parameter gradients).
import Testing
@testable import NeuralNetwork

@Suite struct ChainReferenceTests {
    /// conv 3→16 (pad 1) → depthwise 16 (stride 2, dilation 2, asymmetric padding) → grouped conv 16→8
    /// (groups 2, no bias).
    @Test func convolutionChainForwardAndBackward() throws {
        var g = SeededGenerator(seed: 11)
        let c1 = Conv2d(inChannels: 3, outChannels: 16, kernelSize: [3, 3], padding: [1, 1], generator: &g)
        let c2 = Conv2d(inChannels: 16, outChannels: 16, kernelSize: [3, 3], stride: [2, 2], padding: [2, 1],
                        paddingEnd: [1, 2], dilation: [2, 2], groups: 16, generator: &g)
        let c3 = Conv2d(inChannels: 16, outChannels: 8, kernelSize: [3, 2], padding: [1, 0], paddingEnd: [0, 1],
                        groups: 2, bias: false, generator: &g)
        let graph = try chain([c1, c2, c3])
        graph.inputRequiresGradient = true
        let x = randomTensor([2, 3, 11, 9], seed: 12)

        var s1 = Reference.ConvSpec(); s1.padBegin = [1, 1]; s1.padEnd = [1, 1]
        var s2 = Reference.ConvSpec(); s2.stride = [2, 2]; s2.padBegin = [2, 1]; s2.padEnd = [1, 2]
        s2.dilation = [2, 2]; s2.groups = 16
        var s3 = Reference.ConvSpec(); s3.padBegin = [1, 0]; s3.padEnd = [0, 1]; s3.groups = 2
        let y1 = Reference.conv2d(x, c1.weight.value, c1.bias!.value, s1)
        let y2 = Reference.conv2d(y1, c2.weight.value, c2.bias!.value, s2)
        let y3 = Reference.conv2d(y2, c3.weight.value, nil, s3)

        let y = try graph.forward(x, mode: .training)
        expectClose(y, y3, 1e-4, "forward")

        let dy = randomTensor(y3.shape, seed: 13)
        let dx = try #require(try graph.backward(dy))
        let (d2, dw3, _) = Reference.conv2dBackward(y2, c3.weight.value, dy, s3)
        let (d1, dw2, db2) = Reference.conv2dBackward(y1, c2.weight.value, d2, s2)
        let (d0, dw1, db1) = Reference.conv2dBackward(x, c1.weight.value, d1, s1)
        expectClose(dx, d0, 1e-4, "dx")
        expectClose(c3.weight.gradient, dw3, 1e-4, "dw3")
        expectClose(c2.weight.gradient, dw2, 1e-4, "dw2")
        expectClose(c2.bias!.gradient, db2, 1e-4, "db2")
        expectClose(c1.weight.gradient, dw1, 1e-4, "dw1")
        expectClose(c1.bias!.gradient, db1, 1e-4, "db1")
    }

    /// conv → BN → ReLU → max pool (3, s2, pad 1) → conv → ReLU6 → avg pool (exclude pad) → GAP → Flatten → Linear.
    @Test(arguments: [false, true])
    func classifierChainForwardAndBackward(countIncludePad: Bool) throws {
        var g = SeededGenerator(seed: 21)
        let conv1 = Conv2d(inChannels: 3, outChannels: 16, kernelSize: [3, 3], padding: [1, 1], generator: &g)
        let bn = BatchNorm2d(channels: 16)
        for c in 0..<16 { bn.weight.value.scalars[c] = 0.5 + Float(c) / 8; bn.bias.value.scalars[c] = Float(c % 5) - 2 }
        let pool1 = Pool2d(kind: .max, kernelSize: [3, 3], stride: [2, 2], padding: [1, 1])
        let conv2 = Conv2d(inChannels: 16, outChannels: 24, kernelSize: [3, 3], padding: [1, 1], generator: &g)
        for i in conv2.weight.value.scalars.indices { conv2.weight.value.scalars[i] *= 12 }  // reach past 6
        let pool2 = Pool2d(kind: .average(countIncludePad: countIncludePad), kernelSize: [3, 3], stride: [2, 2],
                           padding: [1, 1])
        let fc = Linear(inFeatures: 24, outFeatures: 5, generator: &g)
        let graph = try chain([conv1, bn, ReLU(), pool1, conv2, ReLU6(), pool2, Pool2d(kind: .global), Flatten(), fc])
        graph.inputRequiresGradient = true
        let x = randomTensor([3, 3, 13, 11], seed: 22)

        // Reference forward
        var s = Reference.ConvSpec(); s.padBegin = [1, 1]; s.padEnd = [1, 1]
        let a1 = Reference.conv2d(x, conv1.weight.value, conv1.bias!.value, s)
        let (a2, means, variances) = Reference.batchNorm(a1, bn.weight.value.scalars, bn.bias.value.scalars, eps: 1e-5)
        let a3 = Reference.map(a2) { max($0, 0) }
        let (a4, _) = Reference.pool(a3, .max, kernel: [3, 3], stride: [2, 2], padBegin: [1, 1], padEnd: [1, 1], dy: nil)
        let a5 = Reference.conv2d(a4, conv2.weight.value, conv2.bias!.value, s)
        let a6 = Reference.map(a5) { min(max($0, 0), 6) }
        #expect(a5.scalars.contains { $0 > 6 } && a5.scalars.contains { $0 < 0 }, "ReLU6 must see both bounds")
        let kind = Reference.PoolKind.average(includePad: countIncludePad)
        let (a7, _) = Reference.pool(a6, kind, kernel: [3, 3], stride: [2, 2], padBegin: [1, 1], padEnd: [1, 1], dy: nil)
        let hw = [a7.shape[2], a7.shape[3]]
        let (a8, _) = Reference.pool(a7, .average(includePad: true), kernel: hw, stride: [1, 1], padBegin: [0, 0],
                                     padEnd: [0, 0], dy: nil)
        let a9 = Tensor(shape: [3, 24], scalars: a8.scalars)
        let (a10, _, _, _) = Reference.linear(a9, fc.weight.value, fc.bias!.value, dy: nil)

        let y = try graph.forward(x, mode: .training)
        expectClose(y, a10, 1e-4, "forward")
        // running statistics: PyTorch's update with the unbiased batch variance
        let m = Float(3 * 13 * 11)
        let expectedMean = vector(means.map { Float(0.1 * $0) })
        let expectedVar = vector(variances.map { Float(0.9 + 0.1 * $0 * Double(m) / Double(m - 1)) })
        expectClose(bn.runningMean.value, expectedMean, 1e-4, "running mean")
        expectClose(bn.runningVariance.value, expectedVar, 1e-4, "running variance")

        // Reference backward
        let dy = randomTensor(a10.shape, seed: 23)
        let dx = try #require(try graph.backward(dy))
        let (d9, dwfc, dbfc) = { let r = Reference.linear(a9, fc.weight.value, fc.bias!.value, dy: dy); return (r.1, r.2, r.3) }()
        let d8 = Tensor(shape: a8.shape, scalars: d9.scalars)
        let d7 = Reference.pool(a7, .average(includePad: true), kernel: hw, stride: [1, 1], padBegin: [0, 0],
                                padEnd: [0, 0], dy: d8).1
        let d6 = Reference.pool(a6, kind, kernel: [3, 3], stride: [2, 2], padBegin: [1, 1], padEnd: [1, 1], dy: d7).1
        let d5 = Tensor(shape: a5.shape, scalars: zip(a5.scalars, d6.scalars).map { $0 > 0 && $0 < 6 ? $1 : 0 })
        let (d4, dw2, db2) = Reference.conv2dBackward(a4, conv2.weight.value, d5, s)
        let d3 = Reference.pool(a3, .max, kernel: [3, 3], stride: [2, 2], padBegin: [1, 1], padEnd: [1, 1], dy: d4).1
        let d2 = Tensor(shape: a2.shape, scalars: zip(a2.scalars, d3.scalars).map { $0 > 0 ? $1 : 0 })
        let (d1, dgamma, dbeta) = Reference.batchNormBackward(a1, bn.weight.value.scalars, d2, eps: 1e-5)
        let (d0, dw1, db1) = Reference.conv2dBackward(x, conv1.weight.value, d1, s)
        expectClose(fc.weight.gradient, dwfc, 1e-4, "fc dw")
        expectClose(fc.bias!.gradient, dbfc, 1e-4, "fc db")
        expectClose(conv2.weight.gradient, dw2, 1e-4, "conv2 dw")
        expectClose(conv2.bias!.gradient, db2, 1e-4, "conv2 db")
        expectClose(bn.weight.gradient, vector(dgamma), 1e-4, "bn dγ")
        expectClose(bn.bias.gradient, vector(dbeta), 1e-4, "bn dβ")
        expectClose(conv1.weight.gradient, dw1, 2e-4, "conv1 dw")
        expectClose(conv1.bias!.gradient, db1, 2e-4, "conv1 db")
        expectClose(dx, d0, 2e-4, "dx")

        // Inference uses the running statistics
        let yi = try graph.forward(x, mode: .inference)
        let b2 = Reference.batchNormInference(a1, bn.weight.value.scalars, bn.bias.value.scalars,
                                              bn.runningMean.value.scalars, bn.runningVariance.value.scalars, eps: 1e-5)
        let b3 = Reference.map(b2) { max($0, 0) }
        let b4 = Reference.pool(b3, .max, kernel: [3, 3], stride: [2, 2], padBegin: [1, 1], padEnd: [1, 1], dy: nil).0
        let b6 = Reference.map(Reference.conv2d(b4, conv2.weight.value, conv2.bias!.value, s)) { min(max($0, 0), 6) }
        let b7 = Reference.pool(b6, kind, kernel: [3, 3], stride: [2, 2], padBegin: [1, 1], padEnd: [1, 1], dy: nil).0
        let b8 = Reference.pool(b7, .average(includePad: true), kernel: hw, stride: [1, 1], padBegin: [0, 0],
                                padEnd: [0, 0], dy: nil).0
        let b10 = Reference.linear(Tensor(shape: [3, 24], scalars: b8.scalars), fc.weight.value, fc.bias!.value, dy: nil).0
        expectClose(yi, b10, 1e-4, "inference forward")
    }

    /// A residual block with a fan-out and a channel concat: a = conv(x); b = conv(x); s = a + b;
    /// c = concat(s, a); y = conv(c). `a` feeds two nodes, so its gradient is a sum.
    @Test func residualAndConcatGraph() throws {
        var g = SeededGenerator(seed: 31)
        let ca = Conv2d(inChannels: 4, outChannels: 8, kernelSize: [3, 3], padding: [1, 1], generator: &g)
        let cb = Conv2d(inChannels: 4, outChannels: 8, kernelSize: [1, 1], generator: &g)
        let cy = Conv2d(inChannels: 16, outChannels: 6, kernelSize: [3, 3], stride: [2, 2], padding: [1, 1], generator: &g)
        let nodes = [
            NodeSpec(name: "a", op: "Conv2d", inputs: ["input"]), NodeSpec(name: "b", op: "Conv2d", inputs: ["input"]),
            NodeSpec(name: "s", op: "Add", inputs: ["a", "b"]), NodeSpec(name: "c", op: "Concat", inputs: ["s", "a"]),
            NodeSpec(name: "y", op: "Conv2d", inputs: ["c"]),
        ]
        let graph = try Graph(nodes: nodes, layers: [ca, cb, Add(), Concat(), cy], context: ComputeContext(threads: 2))
        graph.inputRequiresGradient = true
        let x = randomTensor([2, 4, 7, 9], seed: 32)
        var s3 = Reference.ConvSpec(); s3.padBegin = [1, 1]; s3.padEnd = [1, 1]
        let s1 = Reference.ConvSpec()
        var sy = s3; sy.stride = [2, 2]
        let a = Reference.conv2d(x, ca.weight.value, ca.bias!.value, s3)
        let b = Reference.conv2d(x, cb.weight.value, cb.bias!.value, s1)
        let sum = Tensor(shape: a.shape, scalars: zip(a.scalars, b.scalars).map(+))
        let plane = 7 * 9
        var cat: [Float] = []
        for n in 0..<2 {
            cat += sum.scalars[(n * 8 * plane)..<((n + 1) * 8 * plane)]
            cat += a.scalars[(n * 8 * plane)..<((n + 1) * 8 * plane)]
        }
        let c = Tensor(shape: [2, 16, 7, 9], scalars: cat)
        let y = Reference.conv2d(c, cy.weight.value, cy.bias!.value, sy)
        expectClose(try graph.forward(x, mode: .training), y, 1e-4, "forward")

        let dy = randomTensor(y.shape, seed: 33)
        let dx = try #require(try graph.backward(dy))
        let (dc, dwy, _) = Reference.conv2dBackward(c, cy.weight.value, dy, sy)
        var ds: [Float] = [], daCat: [Float] = []
        for n in 0..<2 {
            ds += dc.scalars[(n * 16 * plane)..<((n * 16 + 8) * plane)]
            daCat += dc.scalars[((n * 16 + 8) * plane)..<((n + 1) * 16 * plane)]
        }
        let da = Tensor(shape: a.shape, scalars: zip(ds, daCat).map(+))
        let db = Tensor(shape: b.shape, scalars: ds)
        let (dxa, dwa, _) = Reference.conv2dBackward(x, ca.weight.value, da, s3)
        let (dxb, dwb, _) = Reference.conv2dBackward(x, cb.weight.value, db, s1)
        expectClose(cy.weight.gradient, dwy, 1e-4, "dwy")
        expectClose(ca.weight.gradient, dwa, 1e-4, "dwa")
        expectClose(cb.weight.gradient, dwb, 1e-4, "dwb")
        expectClose(dx, Tensor(shape: x.shape, scalars: zip(dxa.scalars, dxb.scalars).map(+)), 1e-4, "dx")
    }

    /// conv → LPPool2d(2, kernel 2×3, stride [2, 1]) → Softmax over a flattened row.
    @Test func lpPoolAndSoftmax() throws {
        var g = SeededGenerator(seed: 41)
        let conv = Conv2d(inChannels: 2, outChannels: 16, kernelSize: [3, 3], padding: [1, 1], generator: &g)
        let lp = LPPool2d(kernelSize: [2, 3], stride: [2, 1])
        let graph = try chain([conv, lp, Flatten(), SoftmaxLayer()])
        graph.inputRequiresGradient = true
        let x = randomTensor([2, 2, 5, 6], seed: 42)
        var s = Reference.ConvSpec(); s.padBegin = [1, 1]; s.padEnd = [1, 1]
        let a = Reference.conv2d(x, conv.weight.value, conv.bias!.value, s)
        let sq = Reference.map(a) { $0 * $0 }
        let (avg, _) = Reference.pool(sq, .average(includePad: true), kernel: [2, 3], stride: [2, 1], padBegin: [0, 0],
                                      padEnd: [0, 0], dy: nil)
        let pooled = Reference.map(avg) { ($0 * 6).squareRoot() }
        let flat = Tensor(shape: [2, pooled.count / 2], scalars: pooled.scalars)
        let y = Reference.softmax(flat)
        expectClose(try graph.forward(x, mode: .training), y, 1e-4, "forward")

        let dy = randomTensor(y.shape, seed: 43)
        let dx = try #require(try graph.backward(dy))
        // softmax: dz = y ⊙ (dy − Σ dy·y); sqrt(6·a): dp/da = 3/√(6a); avg pool back; square: 2x
        var dz = [Float](repeating: 0, count: y.count)
        let k = flat.shape[1]
        for r in 0..<2 {
            let dot = (0..<k).reduce(0.0) { $0 + Double(dy.scalars[r * k + $1]) * Double(y.scalars[r * k + $1]) }
            for j in 0..<k { dz[r * k + j] = Float(Double(y.scalars[r * k + j]) * (Double(dy.scalars[r * k + j]) - dot)) }
        }
        let davg = Tensor(shape: avg.shape, scalars: zip(avg.scalars, dz).map { Float(3 / (6 * Double($0)).squareRoot() * Double($1)) })
        let (_, dsq) = Reference.pool(sq, .average(includePad: true), kernel: [2, 3], stride: [2, 1], padBegin: [0, 0],
                                      padEnd: [0, 0], dy: davg)
        let da = Tensor(shape: a.shape, scalars: zip(a.scalars, dsq.scalars).map { 2 * $0 * $1 })
        let (d0, dw, _) = Reference.conv2dBackward(x, conv.weight.value, da, s)
        expectClose(conv.weight.gradient, dw, 2e-4, "dw")
        expectClose(dx, d0, 2e-4, "dx")
    }

    /// Dropout: zero with probability p, the rest scaled by 1/(1 − p); backward uses the same mask; identity
    /// in inference.
    @Test func dropoutMaskScalingAndBackward() throws {
        var g = SeededGenerator(seed: 51)
        let conv = Conv2d(inChannels: 3, outChannels: 16, kernelSize: [1, 1], generator: &g)
        let drop = Dropout(probability: 0.25, seed: 7)
        let graph = try chain([conv, drop])
        let x = randomTensor([4, 3, 8, 8], seed: 52)
        let a = Reference.conv2d(x, conv.weight.value, conv.bias!.value, Reference.ConvSpec())
        let y = try graph.forward(x, mode: .training)
        var zeros = 0
        for (yi, ai) in zip(y.scalars, a.scalars) {
            if yi == 0 { zeros += 1 } else { #expect(abs(yi - ai / 0.75) <= 1e-4 * (1 + abs(ai))) }
        }
        let fraction = Double(zeros) / Double(y.count)
        #expect(abs(fraction - 0.25) < 0.03, "dropped fraction \(fraction)")
        // backward: d conv-output = dy ⊙ mask → dw = Σ dy·mask·x
        let dy = randomTensor(y.shape, seed: 53)
        try graph.backward(dy)
        let masked = Tensor(shape: dy.shape, scalars: zip(y.scalars, dy.scalars).map { $0 == 0 ? 0 : $1 / 0.75 })
        let (_, dw, _) = Reference.conv2dBackward(x, conv.weight.value, masked, Reference.ConvSpec())
        expectClose(conv.weight.gradient, dw, 1e-4, "dw through the mask")
        expectClose(try graph.forward(x, mode: .inference), a, 1e-4, "inference is identity")
    }
}
