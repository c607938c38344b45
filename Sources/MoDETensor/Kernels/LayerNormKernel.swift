import CMoDEKernels

/// Layer normalisation over the last dimension (PyTorch `nn.LayerNorm` semantics: biased variance,
/// eps inside the square root) and its backward.
public enum LayerNormKernel {
    /// y (rows, cols) = (x − mean) · rstd · gamma (cols) + beta (cols) per row of x (rows, cols);
    /// saves mean (rows) and rstd = 1 / sqrt(var + eps) (rows) for the backward. y may alias x.
    public static func forward(_ y: UnsafeMutablePointer<Float>, _ mean: UnsafeMutablePointer<Float>,
                               _ rstd: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>,
                               _ gamma: UnsafePointer<Float>, _ beta: UnsafePointer<Float>,
                               rows: Int, cols: Int, eps: Float = 1e-5) {
        if cols == 0 { return }
        Parallel.forEach(rows, grain: rowGrain(cols)) { range in
            mode_layernorm_forward_rows(y, mean, rstd, x, gamma, beta, range.lowerBound, range.upperBound, cols, eps)
        }
    }

    /// Backward of `forward`, from dy (rows, cols), the input x (rows, cols) and the saved mean and
    /// rstd (rows). ACCUMULATES dgamma (cols) += Σ_rows dy ⊙ x̂ and dbeta (cols) += Σ_rows dy.
    /// Writes dx (rows, cols), or adds to it when `accumulateInput` (e.g. into a residual-stream
    /// gradient). Parallel over rows; the parameter sums are per-chunk partials added in chunk
    /// order, so results are deterministic for a given thread count. dx may alias dy unless
    /// `accumulateInput`.
    public static func backward(_ dx: UnsafeMutablePointer<Float>, _ dgamma: UnsafeMutablePointer<Float>,
                                _ dbeta: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>,
                                _ x: UnsafePointer<Float>, _ mean: UnsafePointer<Float>, _ rstd: UnsafePointer<Float>,
                                _ gamma: UnsafePointer<Float>, rows: Int, cols: Int, accumulateInput: Bool) {
        let chunks = min(Parallel.threads, max(1, rows / rowGrain(cols)))
        backward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma, rows: rows, cols: cols,
                 accumulateInput: accumulateInput, chunks: chunks)
    }

    /// `backward` with an explicit number of row chunks (each with its own parameter partials).
    static func backward(_ dx: UnsafeMutablePointer<Float>, _ dgamma: UnsafeMutablePointer<Float>,
                         _ dbeta: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>,
                         _ x: UnsafePointer<Float>, _ mean: UnsafePointer<Float>, _ rstd: UnsafePointer<Float>,
                         _ gamma: UnsafePointer<Float>, rows: Int, cols: Int, accumulateInput: Bool, chunks: Int) {
        if cols == 0 || rows == 0 { return }
        let chunks = max(1, min(chunks, rows))
        // Per chunk: dgamma partial (cols) then dbeta partial (cols).
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: chunks * 2 * cols)
        partials.initialize(repeating: 0, count: chunks * 2 * cols)
        defer { partials.deallocate() }
        Parallel.forEach(chunks) { chunkRange in
            for chunk in chunkRange {
                let pg = partials + chunk * 2 * cols, pb = pg + cols
                mode_layernorm_backward_rows(dx, pg, pb, dy, x, mean, rstd, gamma, rows * chunk / chunks,
                                             rows * (chunk + 1) / chunks, cols, accumulateInput ? 1 : 0)
            }
        }
        for chunk in 0..<chunks {
            let pg = partials + chunk * 2 * cols, pb = pg + cols
            for c in 0..<cols {
                dgamma[c] += pg[c]
                dbeta[c] += pb[c]
            }
        }
    }

    /// Naive reference for `forward`, in any precision.
    public static func forwardReference<T: BinaryFloatingPoint>(
        _ y: UnsafeMutablePointer<T>, _ mean: UnsafeMutablePointer<T>, _ rstd: UnsafeMutablePointer<T>,
        _ x: UnsafePointer<T>, _ gamma: UnsafePointer<T>, _ beta: UnsafePointer<T>, rows: Int, cols: Int, eps: T = 1e-5
    ) {
        for r in 0..<rows {
            var s: T = 0
            for c in 0..<cols { s += x[r * cols + c] }
            let mu = s / T(cols)
            var v: T = 0
            for c in 0..<cols { v += (x[r * cols + c] - mu) * (x[r * cols + c] - mu) }
            let rs = 1 / (v / T(cols) + eps).squareRoot()
            mean[r] = mu
            rstd[r] = rs
            for c in 0..<cols { y[r * cols + c] = (x[r * cols + c] - mu) * rs * gamma[c] + beta[c] }
        }
    }

    /// Naive reference for `backward`, in any precision (same accumulate semantics).
    public static func backwardReference<T: BinaryFloatingPoint>(
        _ dx: UnsafeMutablePointer<T>, _ dgamma: UnsafeMutablePointer<T>, _ dbeta: UnsafeMutablePointer<T>,
        _ dy: UnsafePointer<T>, _ x: UnsafePointer<T>, _ mean: UnsafePointer<T>, _ rstd: UnsafePointer<T>,
        _ gamma: UnsafePointer<T>, rows: Int, cols: Int, accumulateInput: Bool
    ) {
        for r in 0..<rows {
            var a: T = 0, b: T = 0
            for c in 0..<cols {
                let xhat = (x[r * cols + c] - mean[r]) * rstd[r]
                let g = dy[r * cols + c] * gamma[c]
                a += g
                b += g * xhat
                dgamma[c] += dy[r * cols + c] * xhat
                dbeta[c] += dy[r * cols + c]
            }
            a /= T(cols)
            b /= T(cols)
            for c in 0..<cols {
                let xhat = (x[r * cols + c] - mean[r]) * rstd[r]
                let v = (dy[r * cols + c] * gamma[c] - a - xhat * b) * rstd[r]
                dx[r * cols + c] = accumulateInput ? dx[r * cols + c] + v : v
            }
        }
    }
}
