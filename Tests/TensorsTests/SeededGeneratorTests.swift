import Testing
@testable import Tensors

@Suite struct SeededGeneratorTests {
    @Test func sameSeedSameSequenceDifferentSeedDifferent() {
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42), c = SeededGenerator(seed: 43)
        let sa = (0..<8).map { _ in a.next() }, sb = (0..<8).map { _ in b.next() }, sc = (0..<8).map { _ in c.next() }
        #expect(sa == sb)
        #expect(sa != sc)
    }

    @Test func uniformAndGaussianMoments() {
        var g = SeededGenerator(seed: 7)
        let n = 200_000
        var sumU = 0.0, sumG = 0.0, sumG2 = 0.0, inRange = true
        for _ in 0..<n {
            let u = g.nextUniform()
            inRange = inRange && u >= 0 && u < 1
            sumU += Double(u)
            let z = Double(g.nextGaussian())
            sumG += z
            sumG2 += z * z
        }
        #expect(inRange)
        #expect(abs(sumU / Double(n) - 0.5) < 0.005)
        #expect(abs(sumG / Double(n)) < 0.01)
        #expect(abs(sumG2 / Double(n) - 1) < 0.02)
    }
}
