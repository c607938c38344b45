/// Row-wise L2 normalisation as PyTorch's `F.normalize(x, dim=-1)`: x / max(‖x‖, eps).
public enum L2Normalize {
    /// y (rows, cols) = x (rows, cols) / max(‖x_r‖, eps) per row; saves norms (rows) = ‖x_r‖
    /// (unclamped) for the backward. y may alias x.
    public static func forward(_ y: UnsafeMutablePointer<Float>, _ norms: UnsafeMutablePointer<Float>,
                               _ x: UnsafePointer<Float>, rows: Int, cols: Int, eps: Float = 1e-12) {
        let full = cols & ~15, tail = cols - full
        Parallel.forEach(rows, grain: rowGrain(cols)) { range in
            for r in range {
                let xr = x + r * cols, yr = y + r * cols
                var s16 = SIMD16<Float>(repeating: 0)
                var i = 0
                while i < full {
                    let v = load16(xr + i)
                    s16 = s16.addingProduct(v, v)
                    i += 16
                }
                if tail > 0 {
                    let v = loadPartial(xr + full, tail)
                    s16 = s16.addingProduct(v, v)
                }
                let n = s16.sum().squareRoot()
                norms[r] = n
                let inv = 1 / Swift.max(n, eps)
                i = 0
                while i < full { store16(yr + i, load16(xr + i) * inv); i += 16 }
                for c in full..<cols { yr[c] = xr[c] * inv }
            }
        }
    }

    /// Backward of `forward`, from dy (rows, cols), the output y (rows, cols) and the saved norms
    /// (rows): dx = (dy − y · ⟨y, dy⟩) / ‖x‖ per row where ‖x‖ ≥ eps, else dy / eps. Writes dx
    /// (rows, cols), or adds to it when `accumulate`. dx may alias dy unless `accumulate`.
    public static func backward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ y: UnsafePointer<Float>,
                                _ norms: UnsafePointer<Float>, rows: Int, cols: Int, eps: Float = 1e-12,
                                accumulate: Bool = false) {
        let full = cols & ~15, tail = cols - full
        Parallel.forEach(rows, grain: rowGrain(cols)) { range in
            for r in range {
                let dyr = dy + r * cols, yr = y + r * cols, dxr = dx + r * cols
                let n = norms[r]
                var dot = SIMD16<Float>(repeating: 0)
                if n >= eps {
                    var i = 0
                    while i < full { dot = dot.addingProduct(load16(yr + i), load16(dyr + i)); i += 16 }
                    if tail > 0 { dot = dot.addingProduct(loadPartial(yr + full, tail), loadPartial(dyr + full, tail)) }
                }
                let d = SIMD16<Float>(repeating: dot.sum())
                let inv = 1 / Swift.max(n, eps)
                var i = 0
                while i < full {
                    var v = (load16(dyr + i) - load16(yr + i) * d) * inv
                    if accumulate { v += load16(dxr + i) }
                    store16(dxr + i, v)
                    i += 16
                }
                if tail > 0 {
                    var v = (loadPartial(dyr + full, tail) - loadPartial(yr + full, tail) * d) * inv
                    if accumulate { v += loadPartial(dxr + full, tail) }
                    storePartial(dxr + full, v, tail)
                }
            }
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
