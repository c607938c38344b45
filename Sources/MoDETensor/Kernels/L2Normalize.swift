import CMoDEKernels

/// Row-wise L2 normalisation as PyTorch's `F.normalize(x, dim=-1)`: x / max(‖x‖, eps).
public enum L2Normalize {
    /// y (rows, cols) = x (rows, cols) / max(‖x_r‖, eps) per row; saves norms (rows) = ‖x_r‖
    /// (unclamped) for the backward. y may alias x.
    public static func forward(_ y: UnsafeMutablePointer<Float>, _ norms: UnsafeMutablePointer<Float>,
                               _ x: UnsafePointer<Float>, rows: Int, cols: Int, eps: Float = 1e-12) {
        Parallel.forEach(rows, grain: rowGrain(cols)) { range in
            mode_l2norm_forward_rows(y, norms, x, range.lowerBound, range.upperBound, cols, eps)
        }
    }

    /// Backward of `forward`, from dy (rows, cols), the output y (rows, cols) and the saved norms
    /// (rows): dx = (dy − y · ⟨y, dy⟩) / ‖x‖ per row where ‖x‖ ≥ eps, else dy / eps. Writes dx
    /// (rows, cols), or adds to it when `accumulate`. dx may alias dy unless `accumulate`.
    public static func backward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ y: UnsafePointer<Float>,
                                _ norms: UnsafePointer<Float>, rows: Int, cols: Int, eps: Float = 1e-12,
                                accumulate: Bool = false) {
        Parallel.forEach(rows, grain: rowGrain(cols)) { range in
            mode_l2norm_backward_rows(dx, dy, y, norms, range.lowerBound, range.upperBound, cols, eps, accumulate ? 1 : 0)
        }
    }

    /// Naive reference for `forward`, in any precision.
    public static func forwardReference<T: BinaryFloatingPoint>(
        _ y: UnsafeMutablePointer<T>, _ norms: UnsafeMutablePointer<T>, _ x: UnsafePointer<T>,
        rows: Int, cols: Int, eps: T = 1e-12
    ) {
        for r in 0..<rows {
            var s: T = 0
            for c in 0..<cols { s += x[r * cols + c] * x[r * cols + c] }
            let n = s.squareRoot()
            norms[r] = n
            for c in 0..<cols { y[r * cols + c] = x[r * cols + c] / Swift.max(n, eps) }
        }
    }

    /// Naive reference for `backward`, in any precision (same accumulate semantics).
    public static func backwardReference<T: BinaryFloatingPoint>(
        _ dx: UnsafeMutablePointer<T>, _ dy: UnsafePointer<T>, _ y: UnsafePointer<T>, _ norms: UnsafePointer<T>,
        rows: Int, cols: Int, eps: T = 1e-12, accumulate: Bool = false
    ) {
        for r in 0..<rows {
            var dot: T = 0
            if norms[r] >= eps { for c in 0..<cols { dot += y[r * cols + c] * dy[r * cols + c] } }
            for c in 0..<cols {
                let v = (dy[r * cols + c] - y[r * cols + c] * dot) / Swift.max(norms[r], eps)
                dx[r * cols + c] = accumulate ? dx[r * cols + c] + v : v
            }
        }
    }
}
