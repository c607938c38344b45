import Testing
@testable import MoDETensor

@Suite struct SoftmaxTests {
    /// Row counts: one row, a few, and a causal stack of two blocks (a block and a bit for 129).
    static func rowCounts(_ cols: Int) -> [Int] { [1, 5, min(2 * cols, 131)] }

    @Test(arguments: awkwardCols)
    func forwardMatchesReference(cols: Int) {
        var rng = SeededRNG(seed: 11)
        for rows in Self.rowCounts(cols) {
            for causal in [false, true] {
                for scale: Float in [1, 0.37, -2] {
                    let x = Buf<Float>.randn(rows * cols, std: 3, rng: &rng)
                    let y = Buf<Float>(repeating: .nan, count: rows * cols)
                    Softmax.forward(y.p, x.p, rows: rows, cols: cols, causal: causal, scale: scale)
                    let ref = Buf<Double>(repeating: 0, count: rows * cols), xd = x.double
                    Softmax.forwardReference(ref.p, xd.p, rows: rows, cols: cols, causal: causal,
                                             scale: Double(scale))
                    // Float rounding of scale·x (≤ ½ ulp of values up to ~20) and 1–2 ulp exp: relative
                    // ≤ ~2e-6; 4e-6 allowed. Masked entries must be exactly 0 (abs 0 there).
                    expectClose(y.array, ref.array, rel: 4e-6, "softmax rows \(rows) cols \(cols) causal \(causal) scale \(scale)")
                }
            }
        }
    }

    /// Enough rows to split into uneven parallel chunks (when more than one thread is available):
    /// the result must equal the single-threaded reference row by row.
    @Test func parallelRowsMatchReference() {
        var rng = SeededRNG(seed: 16)
        let cols = 129, rows = 2 * rowGrain(cols) + 3
        let x = Buf<Float>.randn(rows * cols, std: 3, rng: &rng), dy = Buf<Float>.randn(rows * cols, rng: &rng)
        let y = Buf<Float>(repeating: .nan, count: rows * cols), dx = Buf<Float>(repeating: .nan, count: rows * cols)
        Softmax.forward(y.p, x.p, rows: rows, cols: cols, causal: true, scale: 0.5)
        Softmax.backward(dx.p, dy.p, y.p, rows: rows, cols: cols, scale: 0.5)
        let ref = Buf<Double>(repeating: 0, count: rows * cols), dref = Buf<Double>(repeating: 0, count: rows * cols)
        let xd = x.double, dyd = dy.double, yd = y.double
        Softmax.forwardReference(ref.p, xd.p, rows: rows, cols: cols, causal: true, scale: 0.5)
        Softmax.backwardReference(dref.p, dyd.p, yd.p, rows: rows, cols: cols, scale: 0.5)
        // Tolerances as in the single-chunk tests.
        expectClose(y.array, ref.array, rel: 4e-6, "parallel softmax forward")
        expectClose(dx.array, dref.array, rel: 1e-5, abs: 2e-6, "parallel softmax backward")
    }

    @Test func inPlaceForwardEqualsOutOfPlace() {
        var rng = SeededRNG(seed: 12)
        for cols in awkwardCols {
            let rows = 2 * cols
            let x = Buf<Float>.randn(rows * cols, rng: &rng)
            let y = Buf<Float>(repeating: 0, count: rows * cols)
            Softmax.forward(y.p, x.p, rows: rows, cols: cols, causal: true, scale: 0.5)
            Softmax.forward(x.p, x.p, rows: rows, cols: cols, causal: true, scale: 0.5)
            #expect(x.array == y.array, "cols \(cols)")
        }
    }

    @Test func invariants() {
        var rng = SeededRNG(seed: 13)
        for cols in awkwardCols {
            let rows = 2 * cols
            for causal in [false, true] {
                // Large logits: the max subtraction must keep everything finite.
                let x = Buf<Float>.randn(rows * cols, std: 1000, rng: &rng)
                let y = Buf<Float>(repeating: 0, count: rows * cols)
                Softmax.forward(y.p, x.p, rows: rows, cols: cols, causal: causal)
                for r in 0..<rows {
                    var s = 0.0
                    for c in 0..<cols {
                        let v = y[r * cols + c]
                        #expect(v >= 0 && v <= 1, "entry (\(r), \(c)) = \(v)")
                        if causal && c > r % cols { #expect(v == 0, "masked (\(r), \(c)) = \(v)") }
                        s += Double(v)
                    }
                    // Each of ≤ 129 entries is within a few ulp: the sum is 1 to 1e-6.
                    #expect(abs(s - 1) <= 1e-6, "row \(r) sums to \(s)")
                }
            }
        }
        // Constant rows give the uniform distribution exactly (e^0 = 1 each).
        let y = Buf<Float>(repeating: 0, count: 7), three = Buf<Float>(repeating: 3, count: 7)
        Softmax.forward(y.p, three.p, rows: 1, cols: 7)
        #expect(y.array.allSatisfy { $0 == Float(1) / 7 })
    }

    @Test(arguments: awkwardCols)
    func backwardMatchesReference(cols: Int) {
        var rng = SeededRNG(seed: 14)
        for rows in Self.rowCounts(cols) {
            for causal in [false, true] {
                let x = Buf<Float>.randn(rows * cols, rng: &rng), dy = Buf<Float>.randn(rows * cols, rng: &rng)
                let y = Buf<Float>(repeating: 0, count: rows * cols)
                Softmax.forward(y.p, x.p, rows: rows, cols: cols, causal: causal, scale: 0.7)
                let dx = Buf<Float>(repeating: .nan, count: rows * cols)
                Softmax.backward(dx.p, dy.p, y.p, rows: rows, cols: cols, scale: 0.7)
                let ref = Buf<Double>(repeating: 0, count: rows * cols), dyd = dy.double, yd = y.double
                Softmax.backwardReference(ref.p, dyd.p, yd.p, rows: rows, cols: cols, scale: 0.7)
                // Float dot product over ≤ 129 terms of size ≤ 3 and a few roundings: absolute error
                // ≤ ~1e-6 · y; tolerance 2e-6 absolute plus 1e-5 relative.
                expectClose(dx.array, ref.array, rel: 1e-5, abs: 2e-6, "softmax backward rows \(rows) cols \(cols)")
                // In place (dx == dy) gives the same result.
                Softmax.backward(dy.p, dy.p, y.p, rows: rows, cols: cols, scale: 0.7)
                #expect(dy.array == dx.array)
            }
        }
    }

    @Test func referenceBackwardMatchesFiniteDifferences() {
        var rng = SeededRNG(seed: 15)
        for (rows, cols, causal) in [(2, 5, false), (6, 3, true), (1, 1, false)] {
            let x = Buf<Double>.randn(rows * cols, rng: &rng), w = Buf<Double>.randn(rows * cols, rng: &rng)
            let y = Buf<Double>(repeating: 0, count: rows * cols)
            let scale = 0.7
            let numeric = numericalGradient(x) {
                Softmax.forwardReference(y.p, x.p, rows: rows, cols: cols, causal: causal, scale: scale)
                return weightedSum(w, y.p)
            }
            Softmax.forwardReference(y.p, x.p, rows: rows, cols: cols, causal: causal, scale: scale)
            let dx = Buf<Double>(repeating: 0, count: rows * cols)
            Softmax.backwardReference(dx.p, w.p, y.p, rows: rows, cols: cols, scale: scale)
            // Central differences with h = 1e-6 in Double: truncation ~h² and rounding ~1e-16/h, so
            // agreement to ~1e-9; 1e-7 absolute allowed.
            expectClose(dx.array, numeric, rel: 0, abs: 1e-7, "softmax FD rows \(rows) cols \(cols) causal \(causal)")
        }
    }
}
