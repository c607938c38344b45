import Testing
@testable import MoDETensor

@Suite struct L2NormalizeTests {
    @Test(arguments: awkwardCols)
    func matchesReference(cols: Int) {
        var rng = SeededRNG(seed: 51)
        // Enough rows of 129 to split into uneven parallel chunks (the split is the same for any width).
        for rows in cols == 129 ? [1, 4, 2 * rowGrain(cols) + 3] : [1, 4] {
            let x = Buf<Float>.randn(rows * cols, std: 2, rng: &rng), dy = Buf<Float>.randn(rows * cols, rng: &rng)
            // Keep |x| ≥ 0.5 so norms are ≥ 0.5: where ⟨y, dy⟩ y cancels dy (cols = 1) the result is
            // rounding noise divided by the norm, which a tiny norm would blow up.
            for i in 0..<x.count { x[i] += x[i] < 0 ? -0.5 : 0.5 }
            // One all-zero row and one below eps take the clamped branch.
            if rows > 1 {
                for c in 0..<cols { x[c] = 0; x[cols + c] = 1e-14 }
            }
            let y = Buf<Float>(repeating: .nan, count: rows * cols), norms = Buf<Float>(repeating: .nan, count: rows)
            L2Normalize.forward(y.p, norms.p, x.p, rows: rows, cols: cols)
            let xd = x.double, yr = Buf<Double>(repeating: 0, count: rows * cols), nr = Buf<Double>(repeating: 0, count: rows)
            L2Normalize.forwardReference(yr.p, nr.p, xd.p, rows: rows, cols: cols)
            // Float sum of ≤ 129 squares, a square root and a division: a few ulp, relative 1e-6.
            expectClose(norms.array, nr.array, rel: 1e-6, "norms rows \(rows) cols \(cols)")
            expectClose(y.array, yr.array, rel: 1e-6, abs: 1e-12, "y rows \(rows) cols \(cols)")
            for accumulate in [false, true] {
                let dx0 = Buf<Float>.randn(rows * cols, rng: &rng)
                let dx = Buf<Float>(dx0.array), dxr = dx0.double
                L2Normalize.backward(dx.p, dy.p, y.p, norms.p, rows: rows, cols: cols, accumulate: accumulate)
                let dyd = dy.double, yd = y.double, nd = norms.double
                L2Normalize.backwardReference(dxr.p, dyd.p, yd.p, nd.p, rows: rows, cols: cols, accumulate: accumulate)
                // Float dot over ≤ 129 terms (≲ 1e-6 relative) divided by norms ≳ 0.5 (or eps rows:
                // dy / 1e-12, exact up to ulp): relative 1e-5, absolute 1e-5.
                expectClose(dx.array, dxr.array, rel: 1e-5, abs: 1e-5, "dx rows \(rows) cols \(cols) accumulate \(accumulate)")
            }
        }
    }

    @Test func rowsHaveUnitNorm() {
        var rng = SeededRNG(seed: 52)
        let rows = 6, cols = 33
        let x = Buf<Float>.randn(rows * cols, std: 50, rng: &rng)
        for c in 0..<cols { x[c] = 0 }  // row 0: all zero
        let y = Buf<Float>(repeating: .nan, count: rows * cols), norms = Buf<Float>(repeating: .nan, count: rows)
        L2Normalize.forward(y.p, norms.p, x.p, rows: rows, cols: cols)
        #expect((0..<cols).allSatisfy { y[$0] == 0 }, "a zero row stays zero, without NaN")
        for r in 1..<rows {
            var s = 0.0
            for c in 0..<cols { s += Double(y[r * cols + c]) * Double(y[r * cols + c]) }
            // Each entry within a few ulp: the norm is 1 to 1e-6.
            #expect(abs(s.squareRoot() - 1) <= 1e-6, "row \(r) norm \(s.squareRoot())")
        }
    }

    @Test func referenceBackwardMatchesFiniteDifferences() {
        var rng = SeededRNG(seed: 53)
        for (rows, cols) in [(3, 4), (1, 1), (2, 9)] {
            let x = Buf<Double>.randn(rows * cols, rng: &rng), w = Buf<Double>.randn(rows * cols, rng: &rng)
            let y = Buf<Double>(repeating: 0, count: rows * cols), norms = Buf<Double>(repeating: 0, count: rows)
            let numeric = numericalGradient(x) {
                L2Normalize.forwardReference(y.p, norms.p, x.p, rows: rows, cols: cols)
                return weightedSum(w, y.p)
            }
            L2Normalize.forwardReference(y.p, norms.p, x.p, rows: rows, cols: cols)
            let dx = Buf<Double>(repeating: 0, count: rows * cols)
            L2Normalize.backwardReference(dx.p, w.p, y.p, norms.p, rows: rows, cols: cols)
            // Central differences, h = 1e-6, Double, norms ≳ 0.1: error ≲ 1e-8; 1e-6 allowed.
            expectClose(dx.array, numeric, rel: 0, abs: 1e-6, "FD rows \(rows) cols \(cols)")
        }
    }
}
