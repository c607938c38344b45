import CMoDEKernels

/// Reductions over flat Float arrays (accumulated in Double) and row-wise arg-max / top-k.
/// Large arrays are reduced in parallel chunks whose partial sums are added in chunk order, so
/// results are deterministic for a given thread count.
public enum Reduce {
    /// Elements per parallel chunk.
    static let grain = 65_536

    /// Σ x (count), accumulated in Double.
    public static func sum(_ x: UnsafePointer<Float>, count: Int) -> Double {
        reduce(count) { lo, hi in
            var s = SIMD16<Double>(repeating: 0)
            var i = lo
            while i + 16 <= hi { s += SIMD16<Double>(load16(x + i)); i += 16 }
            var t = s.sum()
            while i < hi { t += Double(x[i]); i += 1 }
            return t
        }
    }

    /// Mean of x (count), accumulated in Double; 0 for an empty array.
    public static func mean(_ x: UnsafePointer<Float>, count: Int) -> Double {
        count == 0 ? 0 : sum(x, count: count) / Double(count)
    }

    /// Σ x² (count), accumulated in Double.
    public static func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Double {
        dot(x, x, count: count)
    }

    /// Σ a ⊙ b (count), accumulated in Double.
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Double {
        reduce(count) { lo, hi in mode_dot_double(a, b, lo, hi) }
    }

    /// max x (count); −∞ for an empty array. NaNs are ignored.
    public static func max(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var m = SIMD16<Float>(repeating: -.infinity)
        var i = 0
        while i + 16 <= count { m = VectorMath.max(m, load16(x + i)); i += 16 }
        var r = m.max()
        while i < count { if x[i] > r { r = x[i] }; i += 1 }
        return r
    }

    /// Sums body(lo, hi) over parallel chunks of 0..<count (bounds multiples of 16), in chunk order.
    @inline(__always)
    static func reduce(_ count: Int, _ body: (Int, Int) -> Double) -> Double {
        let blocks = (count + 15) / 16
        let chunks = Swift.min(Parallel.threads, Swift.max(1, blocks / (grain / 16)))
        if chunks <= 1 { return body(0, count) }
        let partials = UnsafeMutablePointer<Double>.allocate(capacity: chunks)
        defer { partials.deallocate() }
        Parallel.forEach(chunks) { range in
            for c in range {
                partials[c] = body(Swift.min(count, blocks * c / chunks * 16), Swift.min(count, blocks * (c + 1) / chunks * 16))
            }
        }
        var s = 0.0
        for c in 0..<chunks { s += partials[c] }
        return s
    }

    /// out (rows) = index of the largest entry of each row of x (rows, cols); the first on ties.
    public static func argmaxRows(_ out: UnsafeMutablePointer<Int32>, _ x: UnsafePointer<Float>, rows: Int, cols: Int) {
        precondition(cols > 0, "argmax of an empty row")
        Parallel.forEach(rows, grain: rowGrain(cols)) { range in
            for r in range {
                let xr = x + r * cols
                var best = 0
                for c in 1..<cols where xr[c] > xr[best] { best = c }
                out[r] = Int32(best)
            }
        }
    }

    /// out (rows, k) = indices of the k largest entries of each row of x (rows, cols), largest
    /// first; on ties the lower index comes first. Meant for small k (top-1 / top-5 accuracy).
    public static func topKRows(_ out: UnsafeMutablePointer<Int32>, _ x: UnsafePointer<Float>,
                                rows: Int, cols: Int, k: Int) {
        precondition(k >= 1 && k <= cols, "top-\(k) of rows with \(cols) entries")
        Parallel.forEach(rows, grain: rowGrain(cols)) { range in
            for r in range {
                let xr = x + r * cols, o = out + r * k
                var n = 0  // indices held in o[0..<n], sorted by value, descending
                for c in 0..<cols {
                    let v = xr[c]
                    if n == k && !(v > xr[Int(o[k - 1])]) { continue }
                    // Insert after every held entry that is ≥ v (keeps lower indices first on ties).
                    var p = Swift.min(n, k - 1)
                    while p > 0 && !(xr[Int(o[p - 1])] >= v) {
                        o[p] = o[p - 1]
                        p -= 1
                    }
                    o[p] = Int32(c)
                    if n < k { n += 1 }
                }
            }
        }
    }

    /// Naive reference for `sum` (sequential Double accumulation).
    public static func sumReference<T: BinaryFloatingPoint>(_ x: UnsafePointer<T>, count: Int) -> Double {
        var s = 0.0
        for i in 0..<count { s += Double(x[i]) }
        return s
    }

    /// Naive reference for `dot` (sequential Double accumulation).
    public static func dotReference<T: BinaryFloatingPoint>(_ a: UnsafePointer<T>, _ b: UnsafePointer<T>, count: Int) -> Double {
        var s = 0.0
        for i in 0..<count { s += Double(a[i]) * Double(b[i]) }
        return s
    }

    /// Naive reference for `topKRows` (and `argmaxRows` with k = 1): a stable sort of each row.
    public static func topKRowsReference<T: BinaryFloatingPoint>(_ out: UnsafeMutablePointer<Int32>, _ x: UnsafePointer<T>,
                                                                 rows: Int, cols: Int, k: Int) {
        for r in 0..<rows {
            let order = (0..<cols).sorted { a, b in
                x[r * cols + a] != x[r * cols + b] ? x[r * cols + a] > x[r * cols + b] : a < b
            }
            for j in 0..<k { out[r * k + j] = Int32(order[j]) }
        }
    }
}
