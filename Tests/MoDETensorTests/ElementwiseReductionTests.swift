import Testing
@testable import MoDETensor

@Suite struct ElementwiseTests {
    static let counts = [0, 1, 7, 17, 33, 129, 2 * Elementwise.grain + 21]

    @Test func addAndScaleMatchReferenceExactly() {
        var rng = SeededRNG(seed: 41)
        for n in Self.counts {
            let a = Buf<Float>.randn(n, rng: &rng), b = Buf<Float>.randn(n, rng: &rng)
            let out = Buf<Float>(repeating: .nan, count: n), ref = Buf<Float>(repeating: 0, count: n)
            // One correctly rounded operation per element: bit-identical to the reference.
            Elementwise.add(out.p, a.p, b.p, count: n)
            Elementwise.addReference(ref.p, a.p, b.p, count: n)
            #expect(out.array == ref.array, "add n \(n)")
            Elementwise.scale(out.p, a.p, -0.3, count: n)
            Elementwise.scaleReference(ref.p, a.p, -0.3, count: n)
            #expect(out.array == ref.array, "scale n \(n)")
            let y = Buf<Float>(a.array)
            Elementwise.addInPlace(y.p, b.p, count: n)
            Elementwise.addReference(ref.p, a.p, b.p, count: n)
            #expect(y.array == ref.array, "addInPlace n \(n)")
            Elementwise.scale(y.p, by: 2, count: n)
            #expect(y.array == ref.array.map { 2 * $0 }, "scale in place n \(n)")
        }
    }

    @Test func axpyMatchesReference() {
        var rng = SeededRNG(seed: 42)
        for n in Self.counts {
            let x = Buf<Float>.randn(n, rng: &rng), y = Buf<Float>.randn(n, rng: &rng)
            let ref = y.double, xd = x.double
            Elementwise.axpy(y.p, 0.7, x.p, count: n)
            Elementwise.axpyReference(ref.p, Double(Float(0.7)), xd.p, count: n)
            // Fused multiply-add: one rounding, within ½ ulp (≤ 2⁻²⁴ relative) of the exact value.
            expectClose(y.array, ref.array, rel: 6e-8, "axpy n \(n)")
        }
    }
}

@Suite struct ReductionTests {
    static let counts = [0, 1, 7, 17, 33, 129, 1000, 2 * Reduce.grain + 21]

    @Test func sumsMatchReference() {
        var rng = SeededRNG(seed: 43)
        for n in Self.counts {
            let a = Buf<Float>.randn(n, rng: &rng), b = Buf<Float>.randn(n, rng: &rng)
            for i in 0..<n { a[i] += 0.25 }
            // Double accumulation of Float terms in another order: differences ~1e-16 · Σ|terms|;
            // 1e-12 relative to Σ|terms| (n ≤ 131k terms of size ≲ 5) allowed.
            let scale = Double(max(1, n)) * 5
            let s = Reduce.sum(a.p, count: n), sr = Reduce.sumReference(a.p, count: n)
            #expect(abs(s - sr) <= 1e-12 * scale, "sum n \(n): \(s) vs \(sr)")
            let d = Reduce.dot(a.p, b.p, count: n), dr = Reduce.dotReference(a.p, b.p, count: n)
            #expect(abs(d - dr) <= 1e-12 * scale * 5, "dot n \(n): \(d) vs \(dr)")
            let q = Reduce.sumOfSquares(a.p, count: n), qr = Reduce.dotReference(a.p, a.p, count: n)
            #expect(abs(q - qr) <= 1e-12 * scale * 5, "sum of squares n \(n): \(q) vs \(qr)")
            let m = Reduce.mean(a.p, count: n)
            #expect(abs(m - (n == 0 ? 0 : sr / Double(n))) <= 1e-12 * 5, "mean n \(n)")
            let mx = Reduce.max(a.p, count: n)
            #expect(mx == a.array.max() ?? -.infinity, "max n \(n)")
        }
    }

    @Test func sumOfKnownValues() {
        // 1 + 2 + … + n exactly, beyond Float's integer range (n(n+1)/2 > 2²⁴).
        let n = 10_000
        let x = Buf<Float>((1...n).map(Float.init))
        #expect(Reduce.sum(x.p, count: n) == Double(n * (n + 1) / 2))
        #expect(Reduce.sumOfSquares(x.p, count: n) == Double(n * (n + 1) * (2 * n + 1) / 6))
        #expect(Reduce.mean(x.p, count: n) == Double(n + 1) / 2)
    }

    @Test(arguments: awkwardCols)
    func argmaxAndTopKMatchReference(cols: Int) {
        var rng = SeededRNG(seed: 44)
        let rows = 9
        // Values on a coarse grid so that ties occur; ties go to the lower index.
        let x = Buf<Float>((0..<(rows * cols)).map { _ in Float(rng.nextInt(5)) })
        let arg = Buf<Int32>(repeating: -1, count: rows), ref1 = Buf<Int32>(repeating: -1, count: rows)
        Reduce.argmaxRows(arg.p, x.p, rows: rows, cols: cols)
        Reduce.topKRowsReference(ref1.p, x.p, rows: rows, cols: cols, k: 1)
        #expect(arg.array == ref1.array, "argmax cols \(cols)")
        for k in Set([1, min(5, cols), cols]) {
            let top = Buf<Int32>(repeating: -1, count: rows * k), ref = Buf<Int32>(repeating: -1, count: rows * k)
            Reduce.topKRows(top.p, x.p, rows: rows, cols: cols, k: k)
            Reduce.topKRowsReference(ref.p, x.p, rows: rows, cols: cols, k: k)
            #expect(top.array == ref.array, "top-\(k) cols \(cols)")
        }
        // Distinct values: the top-k are the k largest, in order.
        let y = Buf<Float>.randn(rows * cols, rng: &rng)
        let k = min(5, cols)
        let top = Buf<Int32>(repeating: -1, count: rows * k)
        Reduce.topKRows(top.p, y.p, rows: rows, cols: cols, k: k)
        for r in 0..<rows {
            let expected = (0..<cols).sorted { y[r * cols + $0] > y[r * cols + $1] }.prefix(k).map(Int32.init)
            #expect(Array(top.array[(r * k)..<(r * k + k)]) == expected, "row \(r)")
        }
    }
}
