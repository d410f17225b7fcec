// Checks the initialisers' sample statistics and bounds against PyTorch's closed-form variances.
import Testing
@testable import NeuralNetwork

struct InitializerTests {
    /// Sample mean and (population) variance in Double.
    private func moments(_ values: [Float]) -> (mean: Double, variance: Double) {
        let n = Double(values.count)
        let mean = values.reduce(0.0) { $0 + Double($1) } / n
        let variance = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
        return (mean, variance)
    }

    // (rule, fanIn, fanOut, expected variance, uniform bound or nil)
    static let cases: [(Initializer, Int, Int, Double, Double?)] = [
        (.kaimingNormal, 72, 144, 2.0 / 72, nil),
        (.kaimingUniform, 72, 144, 2.0 / 72, (6.0 / 72).squareRoot()),
        (.xavierUniform, 64, 10, 2.0 / 74, (6.0 / 74).squareRoot()),
        (.xavierNormal, 64, 10, 2.0 / 74, nil),
    ]

    @Test(arguments: 0..<4)
    func randomRulesHaveTheDocumentedMomentsAndBounds(index: Int) {
        let (rule, fanIn, fanOut, expectedVariance, bound) = Self.cases[index]
        var generator = SeededGenerator(seed: 42)
        let tensor = rule.makeTensor(shape: [100, 8, 5, 5], fanIn: fanIn, fanOut: fanOut, generator: &generator)
        #expect(tensor.shape == [100, 8, 5, 5])
        #expect(tensor.count == 20_000)
        let (mean, variance) = moments(tensor.scalars)
        // Standard error of the mean is √(var/n) ≈ 0.0012 for var ≈ 0.028, n = 20 000: 5σ margin.
        #expect(abs(mean) < 5 * (expectedVariance / 20_000).squareRoot())
        // Relative standard error of a sample variance is about √(2/n) ≈ 1 % for a normal: 5 % margin.
        #expect(abs(variance / expectedVariance - 1) < 0.05, "variance \(variance), expected \(expectedVariance)")
        if let bound {
            #expect(tensor.scalars.allSatisfy { Double(abs($0)) <= bound })
            // Uniform samples should reach close to the bound on both sides.
            #expect(Double(tensor.scalars.max()!) > 0.99 * bound)
            #expect(Double(tensor.scalars.min()!) < -0.99 * bound)
        } else {
            // A normal sample of 20 000 has values beyond 3σ (expected ~54) but none beyond 6σ.
            let sigma = expectedVariance.squareRoot()
            #expect(tensor.scalars.contains { Double(abs($0)) > 3 * sigma })
            #expect(tensor.scalars.allSatisfy { Double(abs($0)) < 6 * sigma })
        }
    }

    @Test func constantsFillExactly() {
        var generator = SeededGenerator(seed: 1)
        #expect(Initializer.zeros.makeTensor(shape: [3, 2], fanIn: 2, fanOut: 3, generator: &generator)
            == Tensor(shape: [3, 2], repeating: 0))
        #expect(Initializer.ones.makeTensor(shape: [4], fanIn: 1, fanOut: 1, generator: &generator)
            == Tensor(shape: [4], repeating: 1))
    }

    @Test func sameSeedSameTensorDifferentSeedDifferentTensor() {
        var a = SeededGenerator(seed: 7), b = SeededGenerator(seed: 7), c = SeededGenerator(seed: 8)
        let x = Initializer.kaimingNormal.makeTensor(shape: [16, 3, 3, 3], fanIn: 27, fanOut: 144, generator: &a)
        let y = Initializer.kaimingNormal.makeTensor(shape: [16, 3, 3, 3], fanIn: 27, fanOut: 144, generator: &b)
        let z = Initializer.kaimingNormal.makeTensor(shape: [16, 3, 3, 3], fanIn: 27, fanOut: 144, generator: &c)
        #expect(x == y)
        #expect(x != z)
    }
}
