/// A seeded, reproducible generator (xoshiro256**, seeded through SplitMix64). Its whole state is
/// four words, so it can be saved in a checkpoint and restored exactly.
public struct SeededRNG: RandomNumberGenerator, Sendable, Equatable, Codable {
    public var state: [UInt64]
    /// A spare normal deviate from Box–Muller (part of the state, so resumes are exact).
    public var spare: Float?

    public init(seed: UInt64) {
        var z = seed
        var s: [UInt64] = []
        for _ in 0..<4 {
            z &+= 0x9E37_79B9_7F4A_7C15
            var x = z
            x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
            x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
            s.append(x ^ (x >> 31))
        }
        state = s
    }

    @inline(__always) private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    public mutating func next() -> UInt64 {
        let result = SeededRNG.rotl(state[1] &* 5, 7) &* 9
        let t = state[1] << 17
        state[2] ^= state[0]
        state[3] ^= state[1]
        state[1] ^= state[2]
        state[0] ^= state[3]
        state[2] ^= t
        state[3] = SeededRNG.rotl(state[3], 45)
        return result
    }

    /// Uniform in [0, 1) with 24 random bits.
    public mutating func nextFloat() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextDouble() -> Double { Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0) }

    /// Standard normal (Box–Muller; the second deviate is kept for the next call).
    public mutating func nextNormal() -> Float {
        if let s = spare { spare = nil; return s }
        var u1 = nextDouble()
        while u1 <= 0 { u1 = nextDouble() }
        let u2 = nextDouble()
        let r = (-2 * _log(u1)).squareRoot()
        let a = 2 * Double.pi * u2
        spare = Float(r * _sin(a))
        return Float(r * _cos(a))
    }

    /// Uniform integer in 0..<n.
    public mutating func nextInt(_ n: Int) -> Int { Int(next(upperBound: UInt64(n))) }
}

import Foundation
@inline(__always) private func _log(_ x: Double) -> Double { Foundation.log(x) }
@inline(__always) private func _sin(_ x: Double) -> Double { Foundation.sin(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Foundation.cos(x) }
