import Foundation
import Testing
@testable import MoDETensor

/// Largest error, in units of the last place of the correctly rounded result, of `f` over `xs`
/// against `ref` evaluated in Double. Results smaller than `floor` in magnitude are measured in
/// ulps of `floor` (absolute error there).
func maxULP(_ xs: [Float], _ f: (SIMD16<Float>) -> SIMD16<Float>, _ ref: (Double) -> Double,
            floor: Float = .leastNormalMagnitude) -> (ulp: Double, at: Float) {
    var worst = 0.0, at: Float = 0
    var i = 0
    while i < xs.count {
        var v = SIMD16<Float>(repeating: 0)
        let n = min(16, xs.count - i)
        for j in 0..<n { v[j] = xs[i + j] }
        let y = f(v)
        for j in 0..<n {
            let exact = ref(Double(xs[i + j]))
            let rounded = Float(exact)
            let unit = Double(max(abs(rounded), floor).ulp)
            let e = abs(Double(y[j]) - exact) / unit
            if e > worst { worst = e; at = xs[i + j] }
        }
        i += 16
    }
    return (worst, at)
}

/// `n` evenly spaced Floats in [lo, hi].
func grid(_ lo: Float, _ hi: Float, _ n: Int) -> [Float] {
    (0..<n).map { lo + (hi - lo) * Float($0) / Float(n - 1) }
}

@Suite struct VectorMathTests {
    @Test func expAccuracy() {
        // Measured 0.95 ulp over the normal range; allow 1.5.
        let r = maxULP(grid(-87.3, 88.7, 60_001), { VectorMath.exp($0) }, Foundation.exp)
        #expect(r.ulp <= 1.5, "exp: \(r.ulp) ulp at \(r.at)")
    }

    @Test func erfAccuracy() {
        // Measured 1.06 ulp; allow 1.5. (This is what makes GELU match exact-erf GELU to 1e-6.)
        let r = maxULP(grid(-6, 6, 60_001), { VectorMath.erf($0) }, Foundation.erf)
        #expect(r.ulp <= 1.5, "erf: \(r.ulp) ulp at \(r.at)")
    }

    @Test func tanhAccuracy() {
        // Measured 1.17 ulp; allow 1.5.
        let r = maxULP(grid(-12, 12, 60_001), { VectorMath.tanh($0) }, Foundation.tanh)
        #expect(r.ulp <= 1.5, "tanh: \(r.ulp) ulp at \(r.at)")
    }

    @Test func sigmoidAccuracy() {
        // exp (≤ 1 ulp), the add and the division: measured 2.25 ulp; allow 3.
        let r = maxULP(grid(-80, 40, 60_001), { VectorMath.sigmoid($0) }, { 1 / (1 + Foundation.exp(-$0)) })
        #expect(r.ulp <= 3, "sigmoid: \(r.ulp) ulp at \(r.at)")
    }
}

@Suite struct VectorMathSpecialValueTests {
    /// f applied to the given scalars (lane by lane in one vector).
    static func lanes(_ xs: [Float], _ f: (SIMD16<Float>) -> SIMD16<Float>) -> [Float] {
        var v = SIMD16<Float>(repeating: 0)
        for (i, x) in xs.enumerated() { v[i] = x }
        let y = f(v)
        return (0..<xs.count).map { y[$0] }
    }

    @Test func specialValues() {
        let xs: [Float] = [0, -0.0, .infinity, -.infinity, 89, -88, -200, 88.7]
        let e = Self.lanes(xs, { VectorMath.exp($0) })
        #expect(e[0] == 1 && e[1] == 1 && e[2] == .infinity && e[3] == 0 && e[4] == .infinity)
        #expect(e[5] == 0 && e[6] == 0)  // below the normal range: flushed to 0
        #expect(e[7].isFinite && abs(Double(e[7]) / Foundation.exp(Double(Float(88.7))) - 1) < 2e-7)
        let erf = Self.lanes(xs, { VectorMath.erf($0) })
        #expect(erf[0] == 0 && erf[2] == 1 && erf[3] == -1 && erf[4] == 1 && erf[5] == -1)
        let th = Self.lanes(xs, { VectorMath.tanh($0) })
        #expect(th[0] == 0 && th[2] == 1 && th[3] == -1 && th[4] == 1 && th[5] == -1)
        let sg = Self.lanes(xs, { VectorMath.sigmoid($0) })
        #expect(sg[0] == 0.5 && sg[2] == 1 && sg[3] == 0 && sg[4] == 1)
        for f in [{ VectorMath.exp($0) }, { VectorMath.erf($0) }, { VectorMath.tanh($0) }, { VectorMath.sigmoid($0) }]
            as [(SIMD16<Float>) -> SIMD16<Float>] {
            #expect(Self.lanes([.nan, 1], f)[0].isNaN, "NaN propagates")
        }
        // Odd functions stay exactly odd.
        let g = grid(-5, 5, 1601)
        let pos = g.map { abs($0) }
        for f in [{ VectorMath.erf($0) }, { VectorMath.tanh($0) }] as [(SIMD16<Float>) -> SIMD16<Float>] {
            for i in stride(from: 0, to: g.count, by: 16) {
                let chunk = Array(g[i..<min(g.count, i + 16)]), abschunk = Array(pos[i..<min(g.count, i + 16)])
                let a = Self.lanes(chunk, f), b = Self.lanes(abschunk, f)
                for j in 0..<chunk.count { #expect(a[j] == (chunk[j] < 0 ? -b[j] : b[j])) }
            }
        }
    }

    @Test func simd8MatchesSIMD16() {
        let xs = grid(-6, 6, 16)
        var v8 = SIMD8<Float>(), v16 = SIMD16<Float>()
        for i in 0..<16 { v16[i] = xs[i] }
        for i in 0..<8 { v8[i] = xs[i] }
        let a = VectorMath.erf(v8), b = VectorMath.erf(v16)
        let c = VectorMath.exp(v8), d = VectorMath.exp(v16)
        for i in 0..<8 { #expect(a[i] == b[i] && c[i] == d[i]) }
    }
}
