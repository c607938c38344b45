import RealModule

/// Row-wise softmax of `scale · x`, with an optional causal mask, and its backward.
public enum Softmax {
    /// y (rows, cols) = softmax(scale · x (rows, cols)) along each row. With `causal`, x is a stack
    /// of square (T, T) blocks with T = cols and row r keeps only columns c ≤ r mod cols; masked
    /// entries of y are 0. In place (y == x) works.
    public static func forward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>,
                               rows: Int, cols: Int, causal: Bool = false, scale: Float = 1) {
        if cols == 0 { return }
        Parallel.forEach(rows, grain: rowGrain(cols)) { range in
            for r in range {
                let valid = causal ? r % cols + 1 : cols
                forwardRow(y + r * cols, x + r * cols, valid: valid, cols: cols, scale: scale)
            }
        }
    }

    /// Softmax of the first `valid` entries of one row; entries valid..<cols are set to 0. Returns
    /// the row's max of scale·x and Σ e^(scale·x − max) (for log-sum-exp).
    @inline(__always) @discardableResult
    static func forwardRow(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>,
                           valid n: Int, cols: Int, scale: Float) -> (max: Float, sum: Float) {
        // Vectors cover 0..<n in steps of 16. A vector reads and writes all 16 lanes while they lie
        // inside the row (entries past `valid` are masked: −∞ for the max, 0 for the sum and the
        // output), and only the lanes inside the row at the row's end.
        let lane = SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
        var m16 = SIMD16<Float>(repeating: -.infinity)
        var i = 0
        while i < n {
            let inRow = cols - i
            var v = (inRow >= 16 ? load16(x + i) : loadPartial(x + i, inRow)) * scale
            if n - i < 16 { v.replace(with: -.infinity, where: lane .>= Int32(n - i)) }
            m16 = VectorMath.max(m16, v)
            i += 16
        }
        let mx = m16.max()
        let m = SIMD16<Float>(repeating: mx)
        var s16 = SIMD16<Float>(repeating: 0)
        i = 0
        while i < n {
            let inRow = cols - i
            var e = VectorMath.exp((inRow >= 16 ? load16(x + i) : loadPartial(x + i, inRow)) * scale - m)
            if n - i < 16 { e.replace(with: 0, where: lane .>= Int32(n - i)) }
            if inRow >= 16 { store16(y + i, e) } else { storePartial(y + i, e, inRow) }
            s16 += e
            i += 16
        }
        let sum = s16.sum()
        let inv = 1 / sum
        i = 0
        while i < n {
            let inRow = cols - i
            if inRow >= 16 { store16(y + i, load16(y + i) * inv) } else { storePartial(y + i, loadPartial(y + i, inRow) * inv, inRow) }
            i += 16
        }
        if i < cols { (y + i).update(repeating: 0, count: cols - i) }
        return (mx, sum)
    }

    /// Backward of `forward`: dx (rows, cols) = scale · y ⊙ (dy − Σ_c dy ⊙ y) per row, from the
    /// forward output y (rows, cols) and dy (rows, cols). Masked entries (y = 0) get 0. dx may alias dy.
    public static func backward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>,
                                _ y: UnsafePointer<Float>, rows: Int, cols: Int, scale: Float = 1) {
        if cols == 0 { return }
        let full = cols & ~15, tail = cols - full
        Parallel.forEach(rows, grain: rowGrain(cols)) { range in
            for r in range {
                let dyr = dy + r * cols, yr = y + r * cols, dxr = dx + r * cols
                var d16 = SIMD16<Float>(repeating: 0)
                var i = 0
                while i < full {
                    d16 = d16.addingProduct(load16(dyr + i), load16(yr + i))
                    i += 16
                }
                if tail > 0 { d16 = d16.addingProduct(loadPartial(dyr + full, tail), loadPartial(yr + full, tail)) }
                let dot = SIMD16<Float>(repeating: d16.sum())
                i = 0
                while i < full {
                    store16(dxr + i, scale * load16(yr + i) * (load16(dyr + i) - dot))
                    i += 16
                }
                if tail > 0 {
                    storePartial(dxr + full, scale * loadPartial(yr + full, tail) * (loadPartial(dyr + full, tail) - dot), tail)
                }
            }
        }
    }

    /// Naive reference for `forward`, in any precision.
    public static func forwardReference<T: Real & BinaryFloatingPoint>(
        _ y: UnsafeMutablePointer<T>, _ x: UnsafePointer<T>, rows: Int, cols: Int, causal: Bool = false, scale: T = 1
    ) {
        for r in 0..<rows {
            let n = causal ? r % cols + 1 : cols
            var m = -T.infinity
            for c in 0..<n { m = max(m, scale * x[r * cols + c]) }
            var s: T = 0
            for c in 0..<n { s += T.exp(scale * x[r * cols + c] - m) }
            for c in 0..<cols { y[r * cols + c] = c < n ? T.exp(scale * x[r * cols + c] - m) / s : 0 }
        }
    }

    /// Naive reference for `backward`, in any precision.
    public static func backwardReference<T: BinaryFloatingPoint>(
        _ dx: UnsafeMutablePointer<T>, _ dy: UnsafePointer<T>, _ y: UnsafePointer<T>, rows: Int, cols: Int, scale: T = 1
    ) {
        for r in 0..<rows {
            var dot: T = 0
            for c in 0..<cols { dot += dy[r * cols + c] * y[r * cols + c] }
            for c in 0..<cols { dx[r * cols + c] = scale * y[r * cols + c] * (dy[r * cols + c] - dot) }
        }
    }
}
