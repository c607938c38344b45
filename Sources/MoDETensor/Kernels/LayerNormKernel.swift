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
        let full = cols & ~15, tail = cols - full
        let invCols = 1 / Float(cols)
        Parallel.forEach(rows, grain: rowGrain(cols)) { range in
            for r in range {
                let xr = x + r * cols, yr = y + r * cols
                var s16 = SIMD16<Float>(repeating: 0)
                var i = 0
                while i < full { s16 += load16(xr + i); i += 16 }
                if tail > 0 { s16 += loadPartial(xr + full, tail) }
                let mu = s16.sum() * invCols
                let m = SIMD16<Float>(repeating: mu)
                // Two-pass variance: Σ (x − mean)².
                var v16 = SIMD16<Float>(repeating: 0)
                i = 0
                while i < full {
                    let d = load16(xr + i) - m
                    v16 = v16.addingProduct(d, d)
                    i += 16
                }
                if tail > 0 {
                    var d = loadPartial(xr + full, tail) - m
                    d.replace(with: 0, where: SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) .>= Int32(tail))
                    v16 = v16.addingProduct(d, d)
                }
                let rs = 1 / (v16.sum() * invCols + eps).squareRoot()
                mean[r] = mu
                rstd[r] = rs
                i = 0
                while i < full {
                    let xhat = (load16(xr + i) - m) * rs
                    store16(yr + i, load16(beta + i).addingProduct(xhat, load16(gamma + i)))
                    i += 16
                }
                if tail > 0 {
                    let xhat = (loadPartial(xr + full, tail) - m) * rs
                    storePartial(yr + full, loadPartial(beta + full, tail).addingProduct(xhat, loadPartial(gamma + full, tail)), tail)
                }
            }
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
        let full = cols & ~15, tail = cols - full
        let invCols = 1 / Float(cols)
        // Per chunk: dgamma partial (cols) then dbeta partial (cols).
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: chunks * 2 * cols)
        partials.initialize(repeating: 0, count: chunks * 2 * cols)
        defer { partials.deallocate() }
        Parallel.forEach(chunks) { chunkRange in
            for chunk in chunkRange {
                let pg = partials + chunk * 2 * cols, pb = pg + cols
                for r in (rows * chunk / chunks)..<(rows * (chunk + 1) / chunks) {
                    let xr = x + r * cols, dyr = dy + r * cols, dxr = dx + r * cols
                    let m = SIMD16<Float>(repeating: mean[r]), rs = rstd[r]
                    // Pass 1: Σ g and Σ g ⊙ x̂ with g = dy ⊙ gamma; parameter partials.
                    var a16 = SIMD16<Float>(repeating: 0), b16 = SIMD16<Float>(repeating: 0)
                    var i = 0
                    while i < full {
                        let d = load16(dyr + i), xhat = (load16(xr + i) - m) * rs
                        let g = d * load16(gamma + i)
                        a16 += g
                        b16 = b16.addingProduct(g, xhat)
                        store16(pg + i, load16(pg + i).addingProduct(d, xhat))
                        store16(pb + i, load16(pb + i) + d)
                        i += 16
                    }
                    if tail > 0 {
                        // Padding lanes: dy = 0, so g = 0 there.
                        let d = loadPartial(dyr + full, tail), xhat = (loadPartial(xr + full, tail) - m) * rs
                        let g = d * loadPartial(gamma + full, tail)
                        a16 += g
                        b16 = b16.addingProduct(g, xhat)
                        storePartial(pg + full, loadPartial(pg + full, tail).addingProduct(d, xhat), tail)
                        storePartial(pb + full, loadPartial(pb + full, tail) + d, tail)
                    }
                    let a = SIMD16<Float>(repeating: a16.sum() * invCols)
                    let b = SIMD16<Float>(repeating: b16.sum() * invCols)
                    // Pass 2: dx = rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂)).
                    i = 0
                    while i < full {
                        let xhat = (load16(xr + i) - m) * rs
                        let g = load16(dyr + i) * load16(gamma + i)
                        var v = (g - a - xhat * b) * rs
                        if accumulateInput { v += load16(dxr + i) }
                        store16(dxr + i, v)
                        i += 16
                    }
                    if tail > 0 {
                        let xhat = (loadPartial(xr + full, tail) - m) * rs
                        let g = loadPartial(dyr + full, tail) * loadPartial(gamma + full, tail)
                        var v = (g - a - xhat * b) * rs
                        if accumulateInput { v += loadPartial(dxr + full, tail) }
                        storePartial(dxr + full, v, tail)
                    }
                }
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
