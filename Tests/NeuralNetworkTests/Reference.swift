// Plain-Swift reference implementations of every op, forward and backward, with Double accumulation,
// written independently of oneDNN to check the engine against.
import NeuralNetwork

/// Reference kernels over plain row-major arrays. x: N×C×H×W everywhere.
enum Reference {
    struct ConvSpec {
        var stride = [1, 1], padBegin = [0, 0], padEnd = [0, 0], dilation = [1, 1], groups = 1
    }

    static func convOutput(_ h: Int, _ k: Int, _ s: Int, _ p0: Int, _ p1: Int, _ d: Int) -> Int {
        (h + p0 + p1 - d * (k - 1) - 1) / s + 1
    }

    /// y[n,o,i,j] = b[o] + Σ_{c in group, kh, kw} w[o, c, kh, kw] · x[n, g·Cg + c, i·s − p + kh·d, j·s − p + kw·d]
    static func conv2d(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ spec: ConvSpec) -> Tensor {
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (o, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        let og = o / spec.groups
        let oh = convOutput(h, kh, spec.stride[0], spec.padBegin[0], spec.padEnd[0], spec.dilation[0])
        let ow = convOutput(wd, kw, spec.stride[1], spec.padBegin[1], spec.padEnd[1], spec.dilation[1])
        var y = [Float](repeating: 0, count: n * o * oh * ow)
        for ni in 0..<n { for oi in 0..<o {
            let g = oi / og
            for i in 0..<oh { for j in 0..<ow {
                var acc = Double(b?.scalars[oi] ?? 0)
                for ci in 0..<cg { for a in 0..<kh { for bb in 0..<kw {
                    let hi = i * spec.stride[0] - spec.padBegin[0] + a * spec.dilation[0]
                    let wi = j * spec.stride[1] - spec.padBegin[1] + bb * spec.dilation[1]
                    guard hi >= 0, hi < h, wi >= 0, wi < wd else { continue }
                    let xv = x.scalars[((ni * c + g * cg + ci) * h + hi) * wd + wi]
                    acc += Double(xv) * Double(w.scalars[((oi * cg + ci) * kh + a) * kw + bb])
                }}}
                y[((ni * o + oi) * oh + i) * ow + j] = Float(acc)
            }}
        }}
        return Tensor(shape: [n, o, oh, ow], scalars: y)
    }

    /// dx, dw, db of conv2d for upstream dy (the transposed loops of the forward).
    static func conv2dBackward(_ x: Tensor, _ w: Tensor, _ dy: Tensor, _ spec: ConvSpec) -> (Tensor, Tensor, Tensor) {
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (o, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        let (oh, ow) = (dy.shape[2], dy.shape[3])
        let og = o / spec.groups
        var dx = [Double](repeating: 0, count: x.count), dw = [Double](repeating: 0, count: w.count)
        var db = [Double](repeating: 0, count: o)
        for ni in 0..<n { for oi in 0..<o {
            let g = oi / og
            for i in 0..<oh { for j in 0..<ow {
                let d = Double(dy.scalars[((ni * o + oi) * oh + i) * ow + j])
                db[oi] += d
                for ci in 0..<cg { for a in 0..<kh { for bb in 0..<kw {
                    let hi = i * spec.stride[0] - spec.padBegin[0] + a * spec.dilation[0]
                    let wi = j * spec.stride[1] - spec.padBegin[1] + bb * spec.dilation[1]
                    guard hi >= 0, hi < h, wi >= 0, wi < wd else { continue }
                    let xi = ((ni * c + g * cg + ci) * h + hi) * wd + wi
                    let wIndex = ((oi * cg + ci) * kh + a) * kw + bb
                    dx[xi] += d * Double(w.scalars[wIndex])
                    dw[wIndex] += d * Double(x.scalars[xi])
                }}}
            }}
        }}
        return (Tensor(shape: x.shape, scalars: dx.map(Float.init)), Tensor(shape: w.shape, scalars: dw.map(Float.init)),
                Tensor(shape: [o], scalars: db.map(Float.init)))
    }

    /// Training-mode batch norm: y = γ·(x − μ)/√(σ² + ε) + β with biased batch variance; returns y, μ, σ².
    static func batchNorm(_ x: Tensor, _ gamma: [Float], _ beta: [Float], eps: Double) -> (Tensor, [Double], [Double]) {
        let (n, c, hw) = (x.shape[0], x.shape[1], x.shape[2] * x.shape[3])
        var y = x.scalars
        var means = [Double](repeating: 0, count: c), vars = [Double](repeating: 0, count: c)
        let m = Double(n * hw)
        for ci in 0..<c {
            var s = 0.0
            for ni in 0..<n { for k in 0..<hw { s += Double(x.scalars[(ni * c + ci) * hw + k]) } }
            let mean = s / m
            var v = 0.0
            for ni in 0..<n { for k in 0..<hw { let d = Double(x.scalars[(ni * c + ci) * hw + k]) - mean; v += d * d } }
            v /= m
            means[ci] = mean; vars[ci] = v
            for ni in 0..<n { for k in 0..<hw {
                let i = (ni * c + ci) * hw + k
                y[i] = Float(Double(gamma[ci]) * (Double(x.scalars[i]) - mean) / (v + eps).squareRoot() + Double(beta[ci]))
            }}
        }
        return (Tensor(shape: x.shape, scalars: y), means, vars)
    }

    /// dx = γ/σ·(dy − mean(dy) − x̂·mean(dy·x̂)); dγ = Σ dy·x̂; dβ = Σ dy.
    static func batchNormBackward(_ x: Tensor, _ gamma: [Float], _ dy: Tensor, eps: Double) -> (Tensor, [Float], [Float]) {
        let (n, c, hw) = (x.shape[0], x.shape[1], x.shape[2] * x.shape[3])
        let (_, means, vars) = batchNorm(x, gamma, [Float](repeating: 0, count: c), eps: eps)
        var dx = x.scalars, dg = [Float](repeating: 0, count: c), dbeta = [Float](repeating: 0, count: c)
        let m = Double(n * hw)
        for ci in 0..<c {
            let sigma = (vars[ci] + eps).squareRoot()
            var sdy = 0.0, sdyx = 0.0
            for ni in 0..<n { for k in 0..<hw {
                let i = (ni * c + ci) * hw + k
                let xhat = (Double(x.scalars[i]) - means[ci]) / sigma
                sdy += Double(dy.scalars[i]); sdyx += Double(dy.scalars[i]) * xhat
            }}
            dg[ci] = Float(sdyx); dbeta[ci] = Float(sdy)
            for ni in 0..<n { for k in 0..<hw {
                let i = (ni * c + ci) * hw + k
                let xhat = (Double(x.scalars[i]) - means[ci]) / sigma
                dx[i] = Float(Double(gamma[ci]) / sigma * (Double(dy.scalars[i]) - sdy / m - xhat * sdyx / m))
            }}
        }
        return (Tensor(shape: x.shape, scalars: dx), dg, dbeta)
    }

    /// Inference batch norm with given statistics.
    static func batchNormInference(_ x: Tensor, _ gamma: [Float], _ beta: [Float], _ mean: [Float], _ variance: [Float],
                                   eps: Double) -> Tensor {
        let (c, hw) = (x.shape[1], x.shape[2] * x.shape[3])
        var y = x.scalars
        for i in 0..<x.count {
            let ci = (i / hw) % c
            y[i] = Float(Double(gamma[ci]) * (Double(x.scalars[i]) - Double(mean[ci]))
                / (Double(variance[ci]) + eps).squareRoot() + Double(beta[ci]))
        }
        return Tensor(shape: x.shape, scalars: y)
    }

    enum PoolKind { case max, average(includePad: Bool) }

    /// Pooling forward and backward together: returns y and dx for upstream dy (dy may be nil → zeros).
    static func pool(_ x: Tensor, _ kind: PoolKind, kernel: [Int], stride: [Int], padBegin: [Int], padEnd: [Int],
                     dy: Tensor?) -> (Tensor, Tensor) {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let oh = convOutput(h, kernel[0], stride[0], padBegin[0], padEnd[0], 1)
        let ow = convOutput(w, kernel[1], stride[1], padBegin[1], padEnd[1], 1)
        var y = [Float](repeating: 0, count: n * c * oh * ow), dx = [Double](repeating: 0, count: x.count)
        for p in 0..<(n * c) { for i in 0..<oh { for j in 0..<ow {
            let out = (p * oh + i) * ow + j
            let g = Double(dy?.scalars[out] ?? 0)
            var cells: [Int] = []
            var padded = 0
            for a in 0..<kernel[0] { for b in 0..<kernel[1] {
                let hi = i * stride[0] - padBegin[0] + a, wi = j * stride[1] - padBegin[1] + b
                if hi >= 0, hi < h, wi >= 0, wi < w { cells.append((p * h + hi) * w + wi) }
                else if hi < h + padEnd[0], wi < w + padEnd[1] { padded += 1 }
            }}
            switch kind {
            case .max:
                let best = cells.max { x.scalars[$0] < x.scalars[$1] }!
                y[out] = x.scalars[best]; dx[best] += g
            case .average(let includePad):
                let divisor = Double(includePad ? cells.count + padded : cells.count)
                y[out] = Float(cells.reduce(0.0) { $0 + Double(x.scalars[$1]) } / divisor)
                for cell in cells { dx[cell] += g / divisor }
            }
        }}}
        return (Tensor(shape: [n, c, oh, ow], scalars: y), Tensor(shape: x.shape, scalars: dx.map(Float.init)))
    }

    /// y = x·wᵀ + b; dx = dy·w; dw = dyᵀ·x; db = Σ dy.
    static func linear(_ x: Tensor, _ w: Tensor, _ b: Tensor, dy: Tensor?) -> (Tensor, Tensor, Tensor, Tensor) {
        let (n, i, o) = (x.shape[0], x.shape[1], w.shape[0])
        var y = [Float](repeating: 0, count: n * o)
        var dx = [Double](repeating: 0, count: n * i), dw = [Double](repeating: 0, count: o * i)
        var db = [Double](repeating: 0, count: o)
        for r in 0..<n { for k in 0..<o {
            var acc = Double(b.scalars[k])
            for j in 0..<i { acc += Double(x.scalars[r * i + j]) * Double(w.scalars[k * i + j]) }
            y[r * o + k] = Float(acc)
            let g = Double(dy?.scalars[r * o + k] ?? 0)
            db[k] += g
            for j in 0..<i {
                dx[r * i + j] += g * Double(w.scalars[k * i + j]); dw[k * i + j] += g * Double(x.scalars[r * i + j])
            }
        }}
        return (Tensor(shape: [n, o], scalars: y), Tensor(shape: x.shape, scalars: dx.map(Float.init)),
                Tensor(shape: w.shape, scalars: dw.map(Float.init)), Tensor(shape: [o], scalars: db.map(Float.init)))
    }

    static func softmax(_ x: Tensor) -> Tensor {
        let (n, k) = (x.shape[0], x.shape[1])
        var y = x.scalars
        for r in 0..<n {
            let row = (0..<k).map { Double(x.scalars[r * k + $0]) }
            let m = row.max()!
            let e = row.map { ($0 - m).exp }
            let s = e.reduce(0, +)
            for j in 0..<k { y[r * k + j] = Float(e[j] / s) }
        }
        return Tensor(shape: x.shape, scalars: y)
    }

    static func map(_ x: Tensor, _ f: (Double) -> Double) -> Tensor {
        Tensor(shape: x.shape, scalars: x.scalars.map { Float(f(Double($0))) })
    }
}

extension Double {
    var exp: Double { Foundation.exp(self) }
}

import Foundation
