// One-step formula tests, convergence, state round trips and state-file errors for SGD, Adam and AdamW.
import Foundation
import Testing
@testable import NeuralNetwork

/// A named parameter with a given value and gradient.
func makeParameter(_ key: String, _ value: [Float], gradient: [Float], shape: [Int]? = nil,
                   kind: Parameter.Kind = .weight, frozen: Bool = false) -> (key: String, parameter: Parameter) {
    let parameter = Parameter(
        name: String(key.split(separator: ".").last!),
        value: Tensor(shape: shape ?? [value.count], scalars: value), kind: kind, isFrozen: frozen)
    parameter.gradient = Tensor(shape: shape ?? [value.count], scalars: gradient)
    return (key, parameter)
}

private func expectClose(_ actual: [Float], _ expected: [Double], tolerance: Double = 1e-6,
                         sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, sourceLocation: sourceLocation)
    for (a, e) in zip(actual, expected) {
        #expect(abs(Double(a) - e) <= tolerance * max(1, abs(e)), "\(a) vs \(e)", sourceLocation: sourceLocation)
    }
}

struct OptimizerFormulaTests {
    @Test func sgdWithMomentumAndWeightDecayFollowsPyTorch() {
        // θ = [1, −2], ∇ = [0.5, 0.25], η = 0.1, μ = 0.9, λ = 0.01.
        let p = makeParameter("fc.weight", [1, -2], gradient: [0.5, 0.25])
        let sgd = SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)
        sgd.step([p])
        // g = ∇ + λθ = [0.51, 0.23]; first step b = g; θ − ηb = [0.949, −2.023].
        expectClose(p.parameter.value.scalars, [0.949, -2.023])
        expectClose(sgd.state()["fc.weight.momentum_buffer"]!.scalars, [0.51, 0.23])
        sgd.step([p])
        // g = 0.5 + 0.01·0.949 = 0.50949; b = 0.9·0.51 + 0.50949 = 0.96849; θ = 0.949 − 0.096849.
        expectClose([p.parameter.value.scalars[0]], [0.852151])
        expectClose([sgd.state()["fc.weight.momentum_buffer"]!.scalars[0]], [0.96849])
        #expect(sgd.state()["step"]!.scalars == [2])
    }

    @Test func sgdNesterovAndPlain() {
        let p = makeParameter("w", [1], gradient: [0.5])
        let nesterov = SGD(learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.02)
        nesterov.step([p])
        // g = 0.5 + 0.02 = 0.52; b = 0.52; g + μb = 0.988; θ = 1 − 0.0988.
        expectClose(p.parameter.value.scalars, [0.9012])
        let q = makeParameter("w", [3], gradient: [-1])
        let plain = SGD(learningRate: 0.5)
        plain.step([q])
        expectClose(q.parameter.value.scalars, [3.5])
        #expect(plain.state().keys.sorted() == ["step"])
    }

    @Test func adamTwoStepsMatchHandComputation() {
        let p = makeParameter("w", [1], gradient: [0.5])
        let adam = Adam(learningRate: 0.1)
        adam.step([p])
        // m = 0.05, v = 0.00025; η/(1−β₁) · m / (√v/√(1−β₂) + ε) = 0.1·(0.5/(0.5 + 1e−8)).
        expectClose(p.parameter.value.scalars, [0.900000002])
        p.parameter.gradient = Tensor(shape: [1], scalars: [0.2])
        adam.step([p])
        // m = 0.065, v = 0.00028975, t = 2 (computed in double precision by hand).
        expectClose(p.parameter.value.scalars, [0.8101424839029281])
        let state = adam.state()
        expectClose(state["w.exp_avg"]!.scalars, [0.065])
        expectClose(state["w.exp_avg_sq"]!.scalars, [0.00028975])
        #expect(state["w.step"]!.scalars == [2])
    }

    @Test func adamAddsL2ToTheGradientWhileAdamWDecaysTheWeight() {
        let p = makeParameter("w", [1], gradient: [0.5])
        Adam(learningRate: 0.1, weightDecay: 0.5).step([p])
        // g = 0.5 + 0.5·1 = 1: the first Adam step still moves by η·sign(g).
        expectClose(p.parameter.value.scalars, [0.9])
        let q = makeParameter("w", [1], gradient: [0.5])
        let adamW = AdamW(learningRate: 0.1, weightDecay: 0.5)
        adamW.step([q])
        // θ·(1 − ηλ) = 0.95, then − η·m̂/(√v̂ + ε) = −0.1.
        expectClose(q.parameter.value.scalars, [0.85])
        // The decay never entered the moments.
        expectClose(adamW.state()["w.exp_avg"]!.scalars, [0.05])
    }

    @Test func nonTrainableParametersAreSkipped() {
        let frozen = makeParameter("a.weight", [1], gradient: [1], frozen: true)
        let buffer = makeParameter("a.running_mean", [1], gradient: [1], kind: .buffer)
        let live = makeParameter("a.bias", [1], gradient: [1])
        for optimizer: Optimizer in [SGD(learningRate: 0.1, momentum: 0.9), Adam(learningRate: 0.1),
                                     AdamW(learningRate: 0.1)] {
            optimizer.step([frozen, buffer, live])
            #expect(frozen.parameter.value.scalars == [1])
            #expect(buffer.parameter.value.scalars == [1])
            #expect(optimizer.state().keys.allSatisfy { !$0.hasPrefix("a.weight") && !$0.hasPrefix("a.running") })
        }
        #expect(live.parameter.value.scalars[0] < 0.8)
    }

    @Test func bigBuffersTakeTheParallelPathAndMatchASerialReference() {
        let count = 300_001
        var generator = SeededGenerator(seed: 3)
        let values = (0..<count).map { _ in generator.nextGaussian() }
        let gradients = (0..<count).map { _ in generator.nextGaussian() }
        let p = makeParameter("big", values, gradient: gradients)
        let adam = Adam(learningRate: 0.01, weightDecay: 0.1)
        adam.step([p])
        adam.step([p])
        // Serial re-computation of the same two steps with the same Float operations.
        var mismatches = 0
        for i in stride(from: 0, to: count, by: 997) {
            var theta = values[i], m: Float = 0, v: Float = 0
            for t in 1...2 {
                let g = gradients[i] + 0.1 * theta
                m = 0.9 * m + Float(1 - 0.9 as Double) * g
                v = 0.999 * v + Float(1 - 0.999 as Double) * (g * g)
                let stepSize = Float(0.01 / (1 - pow(0.9, Double(t))))
                let root = Float((1 - pow(0.999, Double(t))).squareRoot())
                theta = theta - stepSize * (m / (v.squareRoot() / root + 1e-8))
            }
            if theta != p.parameter.value.scalars[i] { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }
}

struct OptimizerConvergenceTests {
    /// f(θ) = ½ Σ aᵢ(θᵢ − cᵢ)², ∇f = a ⊙ (θ − c): an ill-conditioned bowl with its minimum at c.
    private func minimise(_ optimizer: Optimizer, steps: Int) -> [Float] {
        let a: [Float] = [1, 4, 0.5, 2], c: [Float] = [3, -1, 0.5, 2]
        let p = makeParameter("x.weight", [0, 0, 0, 0], gradient: [0, 0, 0, 0])
        for _ in 0..<steps {
            p.parameter.zeroGradient()
            for i in 0..<4 { p.parameter.gradient.scalars[i] += a[i] * (p.parameter.value.scalars[i] - c[i]) }
            optimizer.step([p])
        }
        return zip(p.parameter.value.scalars, c).map { abs($0 - $1) }
    }

    @Test func everyOptimizerReachesTheMinimum() {
        let optimizers: [(String, Optimizer)] = [
            ("sgd", SGD(learningRate: 0.1)),
            ("momentum", SGD(learningRate: 0.05, momentum: 0.9)),
            ("nesterov", SGD(learningRate: 0.05, momentum: 0.9, nesterov: true)),
            ("adam", Adam(learningRate: 0.05)),
            ("adamw", AdamW(learningRate: 0.05, weightDecay: 0)),
        ]
        for (name, optimizer) in optimizers {
            let errors = minimise(optimizer, steps: 600)
            #expect(errors.allSatisfy { $0 < 1e-3 }, "\(name): distances to the minimum \(errors)")
        }
    }
}

struct OptimizerStateTests {
    private func parameters(seed: UInt64) -> [(key: String, parameter: Parameter)] {
        var generator = SeededGenerator(seed: seed)
        return ["conv1.weight", "conv1.bias", "fc.weight"].enumerated().map { index, key in
            let shape = [index + 2, 3]
            let v = Initializer.kaimingNormal.makeTensor(shape: shape, fanIn: 3, fanOut: 3, generator: &generator)
            return makeParameter(key, v.scalars, gradient: v.scalars.map { _ in 0 }, shape: shape)
        }
    }

    private func setGradients(_ parameters: [(key: String, parameter: Parameter)], step: Int) {
        for (index, entry) in parameters.enumerated() {
            let p = entry.parameter
            for i in p.gradient.scalars.indices {
                p.gradient.scalars[i] = sin(Float(step * 7 + index * 3 + i)) + 0.3 * p.value.scalars[i]
            }
        }
    }

    private func run(_ optimizer: Optimizer, _ parameters: [(key: String, parameter: Parameter)], steps: Range<Int>) {
        for step in steps {
            setGradients(parameters, step: step)
            optimizer.step(parameters)
        }
    }

    @Test(arguments: ["sgd", "nesterov", "adam", "adamw"])
    func roundTripContinuesIdentically(kind: String) throws {
        func make() -> Optimizer {
            switch kind {
            case "sgd": return SGD(learningRate: 0.05, momentum: 0.9, weightDecay: 1e-3)
            case "nesterov": return SGD(learningRate: 0.05, momentum: 0.8, nesterov: true)
            case "adam": return Adam(learningRate: 0.01, weightDecay: 1e-2)
            default: return AdamW(learningRate: 0.01)
            }
        }
        let original = make(), reference = parameters(seed: 5)
        run(original, reference, steps: 0..<3)
        let saved = original.state()
        #expect(saved["step"]!.scalars == [3])
        if kind.hasPrefix("adam") {
            #expect(saved["conv1.weight.exp_avg"]!.shape == [2, 3])
            #expect(saved["fc.weight.exp_avg_sq"]!.shape == [4, 3])
            #expect(saved["conv1.bias.step"]!.scalars == [3])
        } else {
            #expect(saved["conv1.weight.momentum_buffer"]!.shape == [2, 3])
        }

        // A fresh optimizer and a copy of the weights continue exactly as the original does.
        let restored = make(), copy = parameters(seed: 99)
        for (target, source) in zip(copy, reference) { target.parameter.value = source.parameter.value }
        try restored.loadState(saved, parameters: copy)
        #expect(restored.state() == saved)
        run(original, reference, steps: 3..<6)
        run(restored, copy, steps: 3..<6)
        for (a, b) in zip(reference, copy) { #expect(a.parameter.value == b.parameter.value) }
        #expect(restored.state() == original.state())
    }

    @Test func loadStateRejectsBadStatesWithNamedErrors() {
        let adam = Adam()
        let m = Tensor(shape: [2], scalars: [1, 2])
        let step = Tensor(shape: [1], scalars: [1])
        #expect(throws: OptimizerStateError.missing(name: "step")) { try adam.loadState([:]) }
        #expect(throws: OptimizerStateError.unexpectedName(name: "w.momentum_buffer", optimizer: "Adam")) {
            try adam.loadState(["step": step, "w.momentum_buffer": m])
        }
        #expect(throws: OptimizerStateError.missing(name: "w.exp_avg_sq")) {
            try adam.loadState(["step": step, "w.exp_avg": m, "w.step": step])
        }
        #expect(throws: OptimizerStateError.shapeMismatch(name: "w.exp_avg_sq", expected: [2], found: [3])) {
            try adam.loadState(["step": step, "w.exp_avg": m, "w.exp_avg_sq": Tensor(shape: [3]), "w.step": step])
        }
        #expect(throws: OptimizerStateError.invalidStep(name: "w.step", found: [1.5])) {
            try adam.loadState(["step": step, "w.exp_avg": m, "w.exp_avg_sq": m,
                                "w.step": Tensor(shape: [1], scalars: [1.5])])
        }
        #expect(throws: OptimizerStateError.unexpectedName(name: "w.exp_avg", optimizer: "SGD")) {
            try SGD(learningRate: 0.1, momentum: 0.9).loadState(["step": step, "w.exp_avg": m])
        }
        let sgd = SGD(learningRate: 0.1, momentum: 0.9)
        let parameters = [makeParameter("w", [0, 0, 0], gradient: [0, 0, 0])]
        #expect(throws: OptimizerStateError.shapeMismatch(name: "w.momentum_buffer", expected: [3], found: [2])) {
            try sgd.loadState(["step": step, "w.momentum_buffer": m], parameters: parameters)
        }
        #expect(throws: OptimizerStateError.unknownParameter(name: "v.momentum_buffer", key: "v")) {
            try sgd.loadState(["step": step, "v.momentum_buffer": m], parameters: parameters)
        }
        // A failed load leaves the previous state untouched.
        #expect(sgd.state() == ["step": Tensor(shape: [1], scalars: [0])])
        #expect("\(OptimizerStateError.missing(name: "w.exp_avg"))".contains("'w.exp_avg'"))
    }
}
