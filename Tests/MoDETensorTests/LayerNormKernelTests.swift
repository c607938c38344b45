import Testing
@testable import MoDETensor

@Suite struct LayerNormKernelTests {
    /// Forward on Float data against the Double reference; returns nothing, records issues.
    static func checkForward(rows: Int, cols: Int, seed: UInt64) {
        var rng = SeededRNG(seed: seed)
        let x = Buf<Float>.randn(rows * cols, std: 2, rng: &rng)
        for i in 0..<x.count { x[i] += 0.5 }  // a non-zero mean
        let gamma = Buf<Float>.randn(cols, rng: &rng), beta = Buf<Float>.randn(cols, rng: &rng)
        let y = Buf<Float>(repeating: .nan, count: rows * cols)
        let mean = Buf<Float>(repeating: .nan, count: rows), rstd = Buf<Float>(repeating: .nan, count: rows)
        LayerNormKernel.forward(y.p, mean.p, rstd.p, x.p, gamma.p, beta.p, rows: rows, cols: cols)
        let xd = x.double, gd = gamma.double, bd = beta.double
        let yr = Buf<Double>(repeating: 0, count: rows * cols)
        let mr = Buf<Double>(repeating: 0, count: rows), rr = Buf<Double>(repeating: 0, count: rows)
        LayerNormKernel.forwardReference(yr.p, mr.p, rr.p, xd.p, gd.p, bd.p, rows: rows, cols: cols)
        // Float sums over ≤ 129 terms of size ~2: mean within ~1e-7 absolute, rstd within a few ulp
        // (relative 1e-6 allowed); y = x̂·gamma + beta with |x̂| ≲ 4, |gamma| ≲ 3: absolute 1e-5.
        expectClose(mean.array, mr.array, rel: 1e-6, abs: 1e-6, "mean rows \(rows) cols \(cols)")
        expectClose(rstd.array, rr.array, rel: 1e-6, "rstd rows \(rows) cols \(cols)")
        expectClose(y.array, yr.array, rel: 1e-6, abs: 1e-5, "y rows \(rows) cols \(cols)")
    }

    @Test(arguments: awkwardCols)
    func forwardMatchesReference(cols: Int) {
        for rows in [1, 3, 13] { Self.checkForward(rows: rows, cols: cols, seed: UInt64(cols * 100 + rows)) }
    }

    @Test func forwardParallelRowsMatchReference() {
        Self.checkForward(rows: 2 * rowGrain(129) + 3, cols: 129, seed: 21)
    }

    /// Backward with an explicit chunk count against the Double reference, both accumulate modes,
    /// with non-zero initial dgamma / dbeta / dx to check accumulation.
    static func checkBackward(rows: Int, cols: Int, chunks: Int?, seed: UInt64) {
        var rng = SeededRNG(seed: seed)
        let x = Buf<Float>.randn(rows * cols, std: 2, rng: &rng), dy = Buf<Float>.randn(rows * cols, rng: &rng)
        let gamma = Buf<Float>.randn(cols, rng: &rng), beta = Buf<Float>.randn(cols, rng: &rng)
        let y = Buf<Float>(repeating: 0, count: rows * cols)
        let mean = Buf<Float>(repeating: 0, count: rows), rstd = Buf<Float>(repeating: 0, count: rows)
        LayerNormKernel.forward(y.p, mean.p, rstd.p, x.p, gamma.p, beta.p, rows: rows, cols: cols)
        for accumulate in [false, true] {
            let dx0 = Buf<Float>.randn(rows * cols, rng: &rng)
            let dg0 = Buf<Float>.randn(cols, rng: &rng), db0 = Buf<Float>.randn(cols, rng: &rng)
            let dx = Buf<Float>(dx0.array), dg = Buf<Float>(dg0.array), db = Buf<Float>(db0.array)
            if let chunks {
                LayerNormKernel.backward(dx.p, dg.p, db.p, dy.p, x.p, mean.p, rstd.p, gamma.p, rows: rows, cols: cols,
                                         accumulateInput: accumulate, chunks: chunks)
            } else {
                LayerNormKernel.backward(dx.p, dg.p, db.p, dy.p, x.p, mean.p, rstd.p, gamma.p, rows: rows, cols: cols,
                                         accumulateInput: accumulate)
            }
            let dxr = dx0.double, dgr = dg0.double, dbr = db0.double
            let dyd = dy.double, xd = x.double, md = mean.double, rd = rstd.double, gd = gamma.double
            LayerNormKernel.backwardReference(dxr.p, dgr.p, dbr.p, dyd.p, xd.p, md.p, rd.p, gd.p, rows: rows, cols: cols,
                                              accumulateInput: accumulate)
            let what = "rows \(rows) cols \(cols) chunks \(chunks.map(String.init) ?? "auto") accumulate \(accumulate)"
            // dx: rstd·(g − ḡ − x̂·mean(g x̂)) with |g| ≲ 10 and rstd ≲ 1 (cols = 1: rstd ≈ 316 but
            // g − ḡ = 0 exactly); Float sums over ≤ 129 terms: absolute 2e-5. dgamma, dbeta: sums of
            // ≤ 260 products of size ≲ 10 in Float: absolute 5e-5.
            expectClose(dx.array, dxr.array, rel: 1e-5, abs: 2e-5, "dx " + what)
            expectClose(dg.array, dgr.array, rel: 1e-5, abs: 5e-5, "dgamma " + what)
            expectClose(db.array, dbr.array, rel: 1e-5, abs: 5e-5, "dbeta " + what)
        }
    }

    @Test(arguments: awkwardCols)
    func backwardMatchesReference(cols: Int) {
        for (rows, chunks) in [(1, 1), (3, 2), (13, 3), (13, 5), (7, nil)] as [(Int, Int?)] {
            Self.checkBackward(rows: rows, cols: cols, chunks: chunks, seed: UInt64(cols * 1000 + rows))
        }
    }

    @Test func backwardParallelRowsMatchReference() {
        Self.checkBackward(rows: 2 * rowGrain(129) + 3, cols: 129, chunks: nil, seed: 22)
    }

    /// Same inputs and chunk count give bit-identical parameter gradients.
    @Test func backwardIsDeterministic() {
        var rng = SeededRNG(seed: 23)
        let rows = 29, cols = 33
        let x = Buf<Float>.randn(rows * cols, rng: &rng), dy = Buf<Float>.randn(rows * cols, rng: &rng)
        let gamma = Buf<Float>.randn(cols, rng: &rng), beta = Buf<Float>.randn(cols, rng: &rng)
        let y = Buf<Float>(repeating: 0, count: rows * cols)
        let mean = Buf<Float>(repeating: 0, count: rows), rstd = Buf<Float>(repeating: 0, count: rows)
        LayerNormKernel.forward(y.p, mean.p, rstd.p, x.p, gamma.p, beta.p, rows: rows, cols: cols)
        var results: [[Float]] = []
        for _ in 0..<3 {
            let dx = Buf<Float>(repeating: 0, count: rows * cols)
            let dg = Buf<Float>(repeating: 0, count: cols), db = Buf<Float>(repeating: 0, count: cols)
            LayerNormKernel.backward(dx.p, dg.p, db.p, dy.p, x.p, mean.p, rstd.p, gamma.p, rows: rows, cols: cols,
                                     accumulateInput: false, chunks: 4)
            results.append(dx.array + dg.array + db.array)
        }
        #expect(results[0] == results[1] && results[1] == results[2])
    }

    @Test func referenceBackwardMatchesFiniteDifferences() {
        var rng = SeededRNG(seed: 24)
        for (rows, cols) in [(3, 5), (2, 1), (1, 9)] {
            let x = Buf<Double>.randn(rows * cols, rng: &rng), w = Buf<Double>.randn(rows * cols, rng: &rng)
            let gamma = Buf<Double>.randn(cols, rng: &rng), beta = Buf<Double>.randn(cols, rng: &rng)
            let y = Buf<Double>(repeating: 0, count: rows * cols)
            let mean = Buf<Double>(repeating: 0, count: rows), rstd = Buf<Double>(repeating: 0, count: rows)
            func loss() -> Double {
                LayerNormKernel.forwardReference(y.p, mean.p, rstd.p, x.p, gamma.p, beta.p, rows: rows, cols: cols)
                return weightedSum(w, y.p)
            }
            let nx = numericalGradient(x, loss), ng = numericalGradient(gamma, loss), nb = numericalGradient(beta, loss)
            _ = loss()
            let dx = Buf<Double>(repeating: 0, count: rows * cols)
            let dg = Buf<Double>(repeating: 0, count: cols), db = Buf<Double>(repeating: 0, count: cols)
            LayerNormKernel.backwardReference(dx.p, dg.p, db.p, w.p, x.p, mean.p, rstd.p, gamma.p, rows: rows, cols: cols,
                                              accumulateInput: false)
            // Central differences, h = 1e-6, Double: error ~1e-9 (rstd up to 1/√eps ≈ 316 when
            // cols = 1 scales rounding noise, still ≪ 1e-6); 1e-6 absolute allowed.
            expectClose(dx.array, nx, rel: 0, abs: 1e-6, "dx rows \(rows) cols \(cols)")
            expectClose(dg.array, ng, rel: 0, abs: 1e-6, "dgamma rows \(rows) cols \(cols)")
            expectClose(db.array, nb, rel: 0, abs: 1e-6, "dbeta rows \(rows) cols \(cols)")
        }
    }

    @Test func normalisedRowsHaveZeroMeanAndUnitVariance() {
        var rng = SeededRNG(seed: 25)
        for cols in [17, 129] {
            let rows = 5
            let x = Buf<Float>.randn(rows * cols, std: 3, rng: &rng)
            for i in 0..<x.count { x[i] += 7 }
            let gamma = Buf<Float>(repeating: 1, count: cols), beta = Buf<Float>(repeating: 0, count: cols)
            let y = Buf<Float>(repeating: 0, count: rows * cols)
            let mean = Buf<Float>(repeating: 0, count: rows), rstd = Buf<Float>(repeating: 0, count: rows)
            LayerNormKernel.forward(y.p, mean.p, rstd.p, x.p, gamma.p, beta.p, rows: rows, cols: cols)
            for r in 0..<rows {
                var s = 0.0, ss = 0.0
                for c in 0..<cols { s += Double(y[r * cols + c]); ss += Double(y[r * cols + c]) * Double(y[r * cols + c]) }
                let m = s / Double(cols), v = ss / Double(cols) - m * m
                // Mean: Float rounding of x − mean (x ≈ 7 ± 9, ulp ~5e-7) times rstd ≈ 1/3: |mean| ≤ 1e-6.
                #expect(abs(m) <= 1e-6, "row \(r) mean \(m)")
                // Variance is var/(var + eps) ≈ 1 − eps/9, plus rounding: within 1e-5 of 1.
                #expect(abs(v - 1) <= 1e-5, "row \(r) variance \(v)")
            }
        }
    }
}
