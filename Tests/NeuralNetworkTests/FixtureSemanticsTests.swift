// Checks the semantics Fixtures/README.md states (cross-entropy with weights and smoothing, BatchNorm running
// statistics, LPPool2d as a root of sums, average pooling's divisor) against the PyTorch fixtures with plain
// loops, so that the layer tests written from the README rest on verified statements.
import Foundation
import Testing
@testable import NeuralNetwork

struct FixtureSemanticsTests {
    /// max |a − b| / max(1, |b|).
    private func error(_ a: [Double], _ b: [Float]) -> Double {
        zip(a, b).map { abs($0 - Double($1)) / max(1, abs(Double($1))) }.max() ?? 0
    }

    @Test(arguments: ["cross_entropy_smoothing", "cross_entropy_weighted", "cross_entropy_weighted_smoothing"])
    func crossEntropyFollowsTheDocumentedFormula(name: String) throws {
        let fixture = try PyTorchFixture.load(name)
        let x = fixture["x"], targets = fixture["target"].scalars.map { Int($0) }
        let (n, c) = (x.shape[0], x.shape[1])
        let epsilon = Double(fixture.string("label_smoothing"))!
        let w = fixture.bool("weighted") ? fixture["weight"].scalars.map(Double.init) : [Double](repeating: 1, count: c)
        let weightSum = w.reduce(0, +)
        var total = 0.0, normaliser = 0.0
        var dx = [Double](repeating: 0, count: n * c)
        for i in 0..<n {
            // x: N×C logits; p = softmax(xᵢ).
            let row = (0..<c).map { Double(x.scalars[i * c + $0]) }
            let top = row.max()!
            let exps = row.map { exp($0 - top) }
            let sum = exps.reduce(0, +)
            let p = exps.map { $0 / sum }
            let t = targets[i]
            total += (1 - epsilon) * w[t] * -log(p[t])
            total += epsilon / Double(c) * (0..<c).reduce(0) { $0 + w[$1] * -log(p[$1]) }
            normaliser += w[t]
            // ∂/∂x_ic of the numerator: (1−ε)·w_t·(p_c − δ_ct) + (ε/C)·(W·p_c − w_c), W = Σ_k w_k.
            for k in 0..<c {
                dx[i * c + k] = (1 - epsilon) * w[t] * (p[k] - (k == t ? 1 : 0))
                    + epsilon / Double(c) * (weightSum * p[k] - w[k])
            }
        }
        #expect(error([total / normaliser], fixture["loss"].scalars) < 1e-6)
        #expect(error(dx.map { $0 / normaliser }, fixture["dx"].scalars) < 1e-6)
    }

    @Test func batchNormRunningStatisticsUseTheUnbiasedVariance() throws {
        let fixture = try PyTorchFixture.load("batchnorm2d_train")
        let x = fixture["x"]
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let m = Double(n * h * w)
        var means: [Double] = [], variances: [Double] = [], outputs = [Double](repeating: 0, count: x.count)
        for channel in 0..<c {
            var values: [Double] = []
            for image in 0..<n {
                let base = (image * c + channel) * h * w
                values += x.scalars[base..<(base + h * w)].map(Double.init)
            }
            let mean = values.reduce(0, +) / m
            let squares = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
            means.append(mean)
            variances.append(squares / (m - 1))
            // y = (x − mean)/√(biased var + eps)·γ + β.
            let scale = Double(fixture["weight"].scalars[channel]) / (squares / m + 1e-5).squareRoot()
            for image in 0..<n {
                let base = (image * c + channel) * h * w
                for i in base..<(base + h * w) {
                    outputs[i] = (Double(x.scalars[i]) - mean) * scale + Double(fixture["bias"].scalars[channel])
                }
            }
        }
        let runningMean = zip(fixture["running_mean"].scalars, means).map { 0.9 * Double($0) + 0.1 * $1 }
        let runningVar = zip(fixture["running_var"].scalars, variances).map { 0.9 * Double($0) + 0.1 * $1 }
        #expect(error(runningMean, fixture["running_mean_after"].scalars) < 1e-6)
        #expect(error(runningVar, fixture["running_var_after"].scalars) < 1e-6)
        #expect(error(outputs, fixture["y"].scalars) < 1e-5)
    }

    /// Pools one N×C×H×W tensor with a 3×3 window, stride 2, padding `pad` on every side; `reduce` gets the
    /// window's real values and the count of window positions inside the padded input.
    private func pool(_ x: Tensor, pad: Int, reduce: ([Double], Int) -> Double) -> [Double] {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (oh, ow) = ((h + 2 * pad - 3) / 2 + 1, (w + 2 * pad - 3) / 2 + 1)
        var result: [Double] = []
        for plane in 0..<(n * c) {
            for i in 0..<oh {
                for j in 0..<ow {
                    var values: [Double] = []
                    var positions = 0
                    for di in 0..<3 {
                        for dj in 0..<3 {
                            let (r, s) = (i * 2 + di - pad, j * 2 + dj - pad)
                            if r >= -pad && r < h + pad && s >= -pad && s < w + pad { positions += 1 }
                            if r >= 0 && r < h && s >= 0 && s < w { values.append(Double(x.scalars[(plane * h + r) * w + s])) }
                        }
                    }
                    result.append(reduce(values, positions))
                }
            }
        }
        return result
    }

    @Test func poolingDivisorsAndTheLPNormMatchTheReadme() throws {
        let include = try PyTorchFixture.load("avgpool2d_count_include_pad_true")
        #expect(error(pool(include["x"], pad: 1) { $0.reduce(0, +) / Double($1) }, include["y"].scalars) < 1e-6)
        let exclude = try PyTorchFixture.load("avgpool2d_count_include_pad_false")
        #expect(error(pool(exclude["x"], pad: 1) { values, _ in values.reduce(0, +) / Double(values.count) }, exclude["y"].scalars) < 1e-6)
        let lp = try PyTorchFixture.load("lppool2d_p2")
        #expect(error(pool(lp["x"], pad: 0) { values, _ in values.reduce(0) { $0 + $1 * $1 }.squareRoot() }, lp["y"].scalars) < 1e-6)
        let max = try PyTorchFixture.load("maxpool2d_k3s2p1")
        #expect(error(pool(max["x"], pad: 1) { values, _ in values.max()! }, max["y"].scalars) == 0)
    }
}
