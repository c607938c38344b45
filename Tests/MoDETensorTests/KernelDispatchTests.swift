import CMoDEKernels
import Foundation
import Testing
@testable import MoDETensor

/// The C kernels (CMoDEKernels) against the Swift vector functions they share their polynomials
/// with, and their two builds (AVX2 + FMA, generic) against each other, bit for bit. (Whether the
/// kernels compute the right thing is checked against the naive references by each kernel's own
/// tests.) Serialized: it switches the process-wide kernel level; concurrently running tests see
/// the other build for a moment, which gives the same bits.
@Suite(.serialized) struct KernelDispatchTests {
    /// Runs `body` with the generic kernels, then with the AVX2 + FMA ones (where the CPU has
    /// them), and restores the level.
    static func bothLevels<T>(_ body: () -> T) -> (generic: T, native: T) {
        let saved = mode_kernels_level()
        defer { mode_kernels_set_level(saved) }
        mode_kernels_set_level(0)
        let g = body()
        mode_kernels_set_level(1)
        return (g, body())
    }

    /// Bit patterns, so that NaNs and signed zeros compare exactly.
    static func bits(_ xs: [Float]) -> [UInt32] { xs.map(\.bitPattern) }

    /// Expects a and b to have the same bits; names the first difference.
    static func expectSameBits(_ a: [Float], _ b: [Float], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.count == b.count, "\(what): \(a.count) vs \(b.count) values", sourceLocation: sourceLocation)
        if let i = (0..<min(a.count, b.count)).first(where: { a[$0].bitPattern != b[$0].bitPattern }) {
            Issue.record("\(what): first difference at \(i): \(a[i]) vs \(b[i])", sourceLocation: sourceLocation)
        }
    }

    @Test func levelFollowsTheCPU() {
        let cpu = CPUFeatures.current
        let canUseAVX2 = cpu.avx2 && cpu.fma
        let saved = mode_kernels_level()
        defer { mode_kernels_set_level(saved) }
        #expect(mode_kernels_set_level(1) == (canUseAVX2 ? 1 : 0))
        #expect(mode_kernels_set_level(0) == 0)
        #expect(mode_kernels_level() == 0)
    }

    @Test func arrayFunctionsEqualTheVectorFunctions() {
        // A grid over every branch of the polynomials, special values, and a length with a tail.
        var xs = grid(-100, 100, 4001) + grid(-4.5, 4.5, 3001)
        xs += [0, -0.0, .infinity, -.infinity, .nan, 88.72, -87.34, 3.95, 0.921875, 0.625, .leastNormalMagnitude]
        let vector: [(SIMD16<Float>) -> SIMD16<Float>] = [
            { VectorMath.exp($0) }, { VectorMath.erf($0) }, { VectorMath.tanh($0) }, { VectorMath.sigmoid($0) },
        ]
        let arrays: [(UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int) -> Void] = [
            { VectorMath.exp($0, $1, count: $2) }, { VectorMath.erf($0, $1, count: $2) },
            { VectorMath.tanh($0, $1, count: $2) }, { VectorMath.sigmoid($0, $1, count: $2) },
        ]
        for (f, g) in zip(vector, arrays) {
            var expected = [Float]()
            var i = 0
            while i < xs.count {
                var v = SIMD16<Float>(repeating: 0)
                for j in 0..<min(16, xs.count - i) { v[j] = xs[i + j] }
                let y = f(v)
                for j in 0..<min(16, xs.count - i) { expected.append(y[j]) }
                i += 16
            }
            let x = Buf(xs)
            let (generic, native) = Self.bothLevels { () -> [Float] in
                let y = Buf<Float>(repeating: 0, count: xs.count)
                g(y.p, x.p, xs.count)
                return y.array
            }
            Self.expectSameBits(generic, expected, "generic build")
            Self.expectSameBits(native, expected, "AVX2 + FMA build")
        }
    }

    @Test func rowKernelsAgreeAcrossBuilds() {
        var rng = SeededRNG(seed: 7)
        let rows = 37, cols = 83  // a vector tail in every row
        let n = rows * cols
        let x = Buf<Float>.randn(n, std: 3, rng: &rng), dy = Buf<Float>.randn(n, rng: &rng)
        let gamma = Buf<Float>.randn(cols, rng: &rng), beta = Buf<Float>.randn(cols, rng: &rng)
        let (generic, native) = Self.bothLevels { () -> [[Float]] in
            var out: [[Float]] = []
            let y = Buf<Float>(repeating: 0, count: n), dx = Buf<Float>(repeating: 0.5, count: n)
            let mean = Buf<Float>(repeating: 0, count: rows), rstd = Buf<Float>(repeating: 0, count: rows)
            let dg = Buf<Float>(repeating: 0, count: cols), db = Buf<Float>(repeating: 0, count: cols)
            Softmax.forward(y.p, x.p, rows: rows, cols: cols, causal: true, scale: 0.7)
            Softmax.backward(dx.p, dy.p, y.p, rows: rows, cols: cols, scale: 0.7)
            out += [y.array, dx.array]
            LayerNormKernel.forward(y.p, mean.p, rstd.p, x.p, gamma.p, beta.p, rows: rows, cols: cols)
            LayerNormKernel.backward(dx.p, dg.p, db.p, dy.p, x.p, mean.p, rstd.p, gamma.p, rows: rows, cols: cols,
                                     accumulateInput: true)
            out += [y.array, mean.array, rstd.array, dx.array, dg.array, db.array]
            let norms = Buf<Float>(repeating: 0, count: rows)
            L2Normalize.forward(y.p, norms.p, x.p, rows: rows, cols: cols)
            L2Normalize.backward(dx.p, dy.p, y.p, norms.p, rows: rows, cols: cols, accumulate: true)
            out += [y.array, norms.array, dx.array]
            for act in Activation.allCases {
                act.forward(y.p, x.p, count: n)
                act.backward(dx.p, dy.p, x.p, count: n, accumulate: true)
                out += [y.array, dx.array]
            }
            Elementwise.axpy(dx.p, 0.3, x.p, count: n)
            out += [dx.array, [Float(Reduce.dot(x.p, dy.p, count: n))]]
            return out
        }
        #expect(generic.count == native.count)
        for (i, (g, v)) in zip(generic, native).enumerated() { Self.expectSameBits(g, v, "output \(i)") }
    }

    @Test func attentionAgreesAcrossBuilds() {
        var rng = SeededRNG(seed: 8)
        let (b, t, h, d) = (2, 19, 3, 8)
        let c = h * d
        let qkv = Buf<Float>.randn(b * t * 3 * c, rng: &rng), dout = Buf<Float>.randn(b * t * c, rng: &rng)
        let (generic, native) = Self.bothLevels { () -> [[Float]] in
            let out = Buf<Float>(repeating: 0, count: b * t * c), probs = Buf<Float>(repeating: 0, count: b * h * t * t)
            let dqkv = Buf<Float>(repeating: 0, count: b * t * 3 * c)
            Attention.forward(out.p, probs.p, qkv.p, batch: b, tokens: t, heads: h, headDim: d, causal: true)
            Attention.backward(dqkv.p, dout.p, qkv.p, probs.p, batch: b, tokens: t, heads: h, headDim: d, causal: true)
            return [out.array, probs.array, dqkv.array]
        }
        for (i, (g, v)) in zip(generic, native).enumerated() { Self.expectSameBits(g, v, "output \(i)") }
    }

    @Test func clusteringAndResamplingKernelsAgreeAcrossBuilds() {
        var rng = SeededRNG(seed: 9)
        let d = 45
        let rows = (0..<4).map { _ in Buf<Float>.randn(d, rng: &rng) }
        let bytes = Buf<UInt8>((0..<(20 * 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        let start = Buf<Int32>((0..<9).map { Int32($0 * 2) }), count = Buf<Int32>(repeating: 4, count: 9)
        let weights = Buf<Int32>((0..<(9 * 4)).map { _ in Int32(rng.nextInt(1 << 22)) - (1 << 20) })
        let (generic, native) = Self.bothLevels { () -> [[UInt32]] in
            let sum = Buf<Float>(repeating: 1, count: d)
            mode_weighted_add4(sum.p, rows[0].p, rows[1].p, rows[2].p, rows[3].p, 0.5, 2, -1, 3, d)
            let norm = mode_squared_norm(rows[0].p, d), dot = mode_dot(rows[1].p, rows[2].p, d)
            let h = Buf<UInt8>(repeating: 0, count: 2 * 9 * 3 + 1), v = Buf<UInt8>(repeating: 0, count: 60)
            mode_resample_horizontal(h.p, bytes.p, 64, 2, start.p, count.p, weights.p, 4, 9, 0, 1)
            mode_resample_vertical(v.p, bytes.p, 64, weights.p, 4, 60)
            return [Self.bits(sum.array + [norm, dot]), h.array.map(UInt32.init), v.array.map(UInt32.init)]
        }
        #expect(generic == native)
    }
}
