import RealModule
import CMoDEKernels

/// Row-wise softmax of `scale · x`, with an optional causal mask, and its backward.
public enum Softmax {
    /// y (rows, cols) = softmax(scale · x (rows, cols)) along each row. With `causal`, x is a stack
    /// of square (T, T) blocks with T = cols and row r keeps only columns c ≤ r mod cols; masked
    /// entries of y are 0. In place (y == x) works.
    public static func forward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>,
                               rows: Int, cols: Int, causal: Bool = false, scale: Float = 1) {
        if cols == 0 { return }
        Parallel.forEach(rows, grain: rowGrain(cols)) { range in
            mode_softmax_rows(y, x, range.lowerBound, range.upperBound, cols, causal ? 1 : 0, scale)
        }
    }

    /// Softmax of the first `valid` entries of one row; entries valid..<cols are set to 0. Returns
    /// the row's max of scale·x and Σ e^(scale·x − max) (for log-sum-exp).
    @inline(__always) @discardableResult
    static func forwardRow(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>,
                           valid n: Int, cols: Int, scale: Float) -> (max: Float, sum: Float) {
        var mx: Float = 0, sum: Float = 0
        mode_softmax_row(y, x, n, cols, scale, &mx, &sum)
        return (mx, sum)
    }

    /// Backward of `forward`: dx (rows, cols) = scale · y ⊙ (dy − Σ_c dy ⊙ y) per row, from the
    /// forward output y (rows, cols) and dy (rows, cols). Masked entries (y = 0) get 0. dx may alias dy.
    public static func backward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>,
                                _ y: UnsafePointer<Float>, rows: Int, cols: Int, scale: Float = 1) {
        if cols == 0 { return }
        Parallel.forEach(rows, grain: rowGrain(cols)) { range in
            mode_softmax_backward_rows(dx, dy, y, range.lowerBound, range.upperBound, cols, scale)
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
