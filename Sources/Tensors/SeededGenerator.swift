/// A small, fast, seedable random number generator (xoshiro256**, seeded through SplitMix64), passed
/// explicitly wherever randomness is needed so that runs are reproducible. Never use a global generator.
/// See Blackman & Vigna, "Scrambled linear pseudorandom number generators" (2018).
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        // SplitMix64 spreads any seed (including 0) over the whole 256-bit state.
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    public mutating func next() -> UInt64 {
        let result = rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotl(state.3, 45)
        return result
    }

    /// A uniform Float in [0, 1) with 24 random bits.
    public mutating func nextUniform() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// A standard normal sample (Box–Muller; one of the pair is discarded to keep the state simple).
    public mutating func nextGaussian() -> Float {
        var u1 = nextUniform()
        while u1 <= Float.leastNormalMagnitude { u1 = nextUniform() }
        let u2 = nextUniform()
        return (-2 * _log(u1)).squareRoot() * _cos(2 * Float.pi * u2)
    }

    /// An independent generator for a sub-task (a worker thread, a layer), derived deterministically.
    public mutating func split() -> SeededGenerator { SeededGenerator(seed: next()) }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

#if canImport(Glibc)
import Glibc
@inline(__always) private func _log(_ x: Float) -> Float { logf(x) }
@inline(__always) private func _cos(_ x: Float) -> Float { cosf(x) }
#else
import Darwin
@inline(__always) private func _log(_ x: Float) -> Float { logf(x) }
@inline(__always) private func _cos(_ x: Float) -> Float { cosf(x) }
#endif
