import Testing
import MoDENN
import MoDETensor
import TestSupport

@Suite struct LayerNormTests {
    /// A layer norm of width `dim` under `ln` with random (non-trivial) weight and bias.
    static func make(dim: Int, rng: inout SeededRNG) -> (LayerNorm, ParameterArena) {
        let b = ParameterBuilder()
        let ln = LayerNorm(b.scoped("ln"), dim: dim)
        let arena = b.build()
        ln.initParameters(arena)
        for i in 0..<dim {
            arena.value(ln.weight)[i] += 0.3 * rng.nextNormal()
            arena.value(ln.bias)[i] = 0.3 * rng.nextNormal()
        }
        return (ln, arena)
    }

    @Test func initialisesAsPyTorch() {
        let b = ParameterBuilder()
        let ln = LayerNorm(b.scoped("visual.ln_pre"), dim: 4)
        let arena = b.build()
        ln.initParameters(arena)
        #expect(arena.specs.map(\.name) == ["visual.ln_pre.weight", "visual.ln_pre.bias"])
        #expect(arena.specs.allSatisfy { !$0.decay })
        #expect(arena.tensor(ln.weight).array == [1, 1, 1, 1] && arena.tensor(ln.bias).array == [0, 0, 0, 0])
    }

    /// Central differences of the Float layer (loss Σ w ⊙ y accumulated in Double) against its
    /// backward, for the input, weight and bias. Step h = 1e-2: truncation error ~h²·|f‴|/6 ≈ 1e-5
    /// (x has unit scale) and Float rounding of the loss ~1e-7·Σ|w y| / 2h ≈ 1e-5. Measured worst
    /// 5e-5; tolerance 1e-3 absolute plus 1e-3 relative, far below the O(1) gradients.
    @Test func backwardMatchesFiniteDifferences() {
        var rng = SeededRNG(seed: 2)
        let rows = 3, dim = 7
        let (ln, arena) = Self.make(dim: dim, rng: &rng)
        let x = Tensor.randn([rows, dim], rng: &rng), w = Tensor.randn([rows, dim], rng: &rng)
        for i in 0..<x.count { x.data[i] += 0.5 }
        let y = Tensor(shape: [rows, dim]), dx = Tensor(shape: [rows, dim])
        let cache = LayerNorm.Cache(rows: rows)
        func loss() -> Double {
            ln.forward(y.data, x.data, rows: rows, cache: cache, arena)
            return LayerCheck.weightedSum(y, w)
        }
        let nx = LayerCheck.numericGradient(x.data, count: x.count, loss)
        let nw = LayerCheck.numericGradient(arena.value(ln.weight), count: dim, loss)
        let nb = LayerCheck.numericGradient(arena.value(ln.bias), count: dim, loss)
        _ = loss()
        arena.zeroGrad()
        ln.backward(dx: dx.data, dy: w.data, x: x.data, rows: rows, cache: cache, arena)
        expectGradientsAgree(dx.data, nx, absTol: 1e-3, relTol: 1e-3, "dx")
        expectGradientsAgree(arena.grad(ln.weight), nw, absTol: 1e-3, relTol: 1e-3, "dweight")
        expectGradientsAgree(arena.grad(ln.bias), nb, absTol: 1e-3, relTol: 1e-3, "dbias")
    }

    /// Layer norm ignores a shift and a positive scale of each row, so its input gradient has zero
    /// row sums and is orthogonal to each normalised row. Parameter gradients accumulate and dx
    /// accumulates on request.
    @Test func invariants() {
        var rng = SeededRNG(seed: 3)
        let rows = 4, dim = 33
        let (ln, arena) = Self.make(dim: dim, rng: &rng)
        let x = Tensor.randn([rows, dim], rng: &rng), dy = Tensor.randn([rows, dim], rng: &rng)
        let x2 = Tensor(shape: [rows, dim])
        for i in 0..<x.count { x2.data[i] = 3 * x.data[i] + 5 }
        let cache = LayerNorm.Cache(rows: rows)
        let y = Tensor(shape: [rows, dim]), y2 = Tensor(shape: [rows, dim])
        ln.forward(y2.data, x2.data, rows: rows, cache: cache, arena)
        ln.forward(y.data, x.data, rows: rows, cache: cache, arena)
        // Only eps breaks the invariance: rstd changes by ~eps·(1 − 1/9)/(2 var) ≈ 5e-6 relative
        // (var ≈ 1), plus Float rounding of 3x + 5: 2e-5 relative to max|y|.
        expectClose(y2, y, relTol: 2e-5, "LN(3x + 5) = LN(x)")
        let dx = Tensor(shape: [rows, dim])
        arena.zeroGrad()
        ln.backward(dx: dx.data, dy: dy.data, x: x.data, rows: rows, cache: cache, arena)
        for r in 0..<rows {
            var s = 0.0, sAbs = 0.0, dot = 0.0, dotAbs = 0.0
            let m = Double(cache.mean.data[r]), rs = Double(cache.rstd.data[r])
            for c in 0..<dim {
                let v = Double(dx.data[r * dim + c]), xhat = (Double(x.data[r * dim + c]) - m) * rs
                s += v; sAbs += abs(v); dot += v * xhat; dotAbs += abs(v * xhat)
            }
            // Zero up to Float rounding of the terms: 1e-5 of the sum of magnitudes.
            #expect(abs(s) <= 1e-5 * sAbs, "row \(r): Σ dx = \(s)")
            #expect(abs(dot) <= 1e-5 * dotAbs, "row \(r): ⟨dx, x̂⟩ = \(dot)")
        }
        // A second backward doubles the parameter gradients and, with accumulate, dx.
        let g1 = arena.gradTensor(ln.weight).array, b1 = arena.gradTensor(ln.bias).array
        let dx1 = dx.array
        ln.backward(dx: dx.data, dy: dy.data, x: x.data, rows: rows, cache: cache, arena, accumulate: true)
        expectClose(arena.gradTensor(ln.weight), Tensor(shape: [dim], values: g1.map { 2 * $0 }), relTol: 1e-6, "dweight accumulates")
        expectClose(arena.gradTensor(ln.bias), Tensor(shape: [dim], values: b1.map { 2 * $0 }), relTol: 1e-6, "dbias accumulates")
        expectClose(dx, Tensor(shape: [rows, dim], values: dx1.map { 2 * $0 }), relTol: 1e-6, "dx accumulates")
    }
}
