import CMoDEKernels
import Foundation

/// Scaled dot-product attention over heads, on a fused q | k | v projection.
///
/// Layout: `qkv` (B, T, 3C) holds q in columns 0..<C, k in C..<2C and v in 2C..<3C; head h uses
/// columns h·D..<(h+1)·D of each part (C = H·D). Scores are scaled by 1/√D; with `causal`, query
/// i sees keys j ≤ i only. The products read q, k and v in place through leading dimensions
/// (no transposes or copies); work runs in parallel over (batch, head) pairs, each pair's products
/// single-threaded, with the scale, mask and softmax applied to each score row while it is in cache
/// (the row kernels are C kernels, CMoDEKernels).
public enum Attention {
    /// out (B, T, C) = softmax(q·kᵀ/√D [+ causal mask]) · v per head, heads concatenated.
    /// Writes the attention probabilities to `probs` (B, H, T, T) for `backward`; masked entries are 0.
    public static func forward(
        _ out: UnsafeMutablePointer<Float>,   // (B, T, C)
        _ probs: UnsafeMutablePointer<Float>, // (B, H, T, T)
        _ qkv: UnsafePointer<Float>,          // (B, T, 3C)
        batch: Int, tokens: Int, heads: Int, headDim: Int, causal: Bool
    ) {
        precondition(batch >= 0 && tokens >= 1 && heads >= 1 && headDim >= 1, "bad attention sizes")
        let (T, H, D) = (tokens, heads, headDim)
        let C = H * D
        let scale = 1 / Float(D).squareRoot()
        Matmul.forEachSingleThreaded(batch * H) { pairs in
            for pair in pairs {
                let (b, h) = pair.quotientAndRemainder(dividingBy: H)
                let base = qkv + b * T * 3 * C
                let q = base + h * D, k = base + C + h * D, v = base + 2 * C + h * D
                let p = probs + pair * T * T
                // p (T, T) = scale · q (T, D) · kᵀ
                Matmul.gemm(p, q, k, m: T, n: T, k: D, transB: true, alpha: scale, lda: 3 * C, ldb: 3 * C, ldc: T)
                mode_softmax_rows(p, p, 0, T, T, causal ? 1 : 0, 1)
                // out_h (T, D) = p (T, T) · v (T, D)
                Matmul.gemm(out + b * T * C + h * D, p, v, m: T, n: D, k: T, lda: T, ldb: 3 * C, ldc: C)
            }
        }
    }

    /// Backward of `forward`: writes (overwrites) dqkv (B, T, 3C) from dout (B, T, C), the
    /// forward's input qkv and its saved probs (B, H, T, T).
    public static func backward(
        _ dqkv: UnsafeMutablePointer<Float>,  // (B, T, 3C)
        _ dout: UnsafePointer<Float>,         // (B, T, C)
        _ qkv: UnsafePointer<Float>,          // (B, T, 3C)
        _ probs: UnsafePointer<Float>,        // (B, H, T, T)
        batch: Int, tokens: Int, heads: Int, headDim: Int, causal: Bool
    ) {
        precondition(batch >= 0 && tokens >= 1 && heads >= 1 && headDim >= 1, "bad attention sizes")
        let (T, H, D) = (tokens, heads, headDim)
        let C = H * D
        let scale = 1 / Float(D).squareRoot()
        Matmul.forEachSingleThreaded(batch * H) { pairs in
            let ds = UnsafeMutablePointer<Float>.allocate(capacity: T * T) // dP, then dS in place
            defer { ds.deallocate() }
            for pair in pairs {
                let (b, h) = pair.quotientAndRemainder(dividingBy: H)
                let base = qkv + b * T * 3 * C
                let q = base + h * D, k = base + C + h * D, v = base + 2 * C + h * D
                let dbase = dqkv + b * T * 3 * C
                let dq = dbase + h * D, dk = dbase + C + h * D, dv = dbase + 2 * C + h * D
                let p = probs + pair * T * T
                let dO = dout + b * T * C + h * D
                // dP (T, T) = dO (T, D) · vᵀ
                Matmul.gemm(ds, dO, v, m: T, n: T, k: D, transB: true, lda: C, ldb: 3 * C, ldc: T)
                // dv (T, D) = pᵀ · dO
                Matmul.gemm(dv, p, dO, m: T, n: D, k: T, transA: true, lda: T, ldb: C, ldc: 3 * C)
                mode_attention_softmax_backward_rows(ds, p, T, T, causal ? 1 : 0)
                // dq (T, D) = scale · dS · k ;  dk (T, D) = scale · dSᵀ · q
                Matmul.gemm(dq, ds, k, m: T, n: D, k: T, alpha: scale, lda: T, ldb: 3 * C, ldc: 3 * C)
                Matmul.gemm(dk, ds, q, m: T, n: D, k: T, transA: true, alpha: scale, lda: T, ldb: 3 * C, ldc: 3 * C)
            }
        }
    }

    /// One query per sequence (a pooled position): out (B, C) = softmax(q_b · kᵀ/√D) · v per
    /// head, heads concatenated, where q (B, C) holds each sequence's query and keys and values
    /// are columns C..<3C of qkv (B, T, 3C) (its q columns are not read). Sequence b attends to
    /// keys 0..<valid[b] (1 ≤ valid[b] ≤ T). When `probs` (B, H, T) is given, the probabilities
    /// are saved there for `backwardSelected` (entries past valid[b] are not written).
    public static func forwardSelected(
        _ out: UnsafeMutablePointer<Float>,   // (B, C)
        _ probs: UnsafeMutablePointer<Float>?, // (B, H, T)
        _ q: UnsafePointer<Float>,            // (B, C)
        _ qkv: UnsafePointer<Float>,          // (B, T, 3C)
        valid: UnsafePointer<Int>,            // (B)
        batch: Int, tokens: Int, heads: Int, headDim: Int
    ) {
        precondition(batch >= 0 && tokens >= 1 && heads >= 1 && headDim >= 1, "bad attention sizes")
        let (T, H, D) = (tokens, heads, headDim)
        let C = H * D
        let scale = 1 / Float(D).squareRoot()
        Matmul.forEachSingleThreaded(batch * H) { pairs in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: T)
            defer { p.deallocate() }
            for pair in pairs {
                let (b, h) = pair.quotientAndRemainder(dividingBy: H)
                let n = valid[b]
                precondition(n >= 1 && n <= T, "valid keys \(n) outside 1...\(T)")
                let k = qkv + b * T * 3 * C + C + h * D, v = k + C
                // p (1, n) = scale · q_bh (1, D) · kᵀ ; out_bh (1, D) = softmax(p) · v (n, D)
                Matmul.gemm(p, q + b * C + h * D, k, m: 1, n: n, k: D, transB: true, alpha: scale, lda: D, ldb: 3 * C, ldc: n)
                mode_softmax_row(p, p, n, n, 1, nil, nil)
                Matmul.gemm(out + b * C + h * D, p, v, m: 1, n: D, k: n, lda: n, ldb: 3 * C, ldc: D)
                if let probs { (probs + pair * T).update(from: p, count: n) }
            }
        }
    }

    /// Backward of `forwardSelected`, from dout (B, C), its inputs and the saved probs (B, H, T):
    /// writes dq (B, C) and the key and value columns C..<3C of dqkv (B, T, 3C) (zero in rows
    /// valid[b]..<T; the q columns are not written).
    public static func backwardSelected(
        _ dq: UnsafeMutablePointer<Float>,    // (B, C)
        _ dqkv: UnsafeMutablePointer<Float>,  // (B, T, 3C)
        _ dout: UnsafePointer<Float>,         // (B, C)
        _ q: UnsafePointer<Float>,            // (B, C)
        _ qkv: UnsafePointer<Float>,          // (B, T, 3C)
        _ probs: UnsafePointer<Float>,        // (B, H, T)
        valid: UnsafePointer<Int>,            // (B)
        batch: Int, tokens: Int, heads: Int, headDim: Int
    ) {
        precondition(batch >= 0 && tokens >= 1 && heads >= 1 && headDim >= 1, "bad attention sizes")
        let (T, H, D) = (tokens, heads, headDim)
        let C = H * D
        let scale = 1 / Float(D).squareRoot()
        Matmul.forEachSingleThreaded(batch * H) { pairs in
            let ds = UnsafeMutablePointer<Float>.allocate(capacity: T)  // dP, then dS in place
            defer { ds.deallocate() }
            for pair in pairs {
                let (b, h) = pair.quotientAndRemainder(dividingBy: H)
                let n = valid[b]
                let k = qkv + b * T * 3 * C + C + h * D, v = k + C
                let dk = dqkv + b * T * 3 * C + C + h * D, dv = dk + C
                let p = probs + pair * T, dO = dout + b * C + h * D, qh = q + b * C + h * D
                // dP (1, n) = dO · vᵀ ; dv (n, D) = pᵀ · dO
                Matmul.gemm(ds, dO, v, m: 1, n: n, k: D, transB: true, lda: D, ldb: 3 * C, ldc: n)
                Matmul.gemm(dv, p, dO, m: n, n: D, k: 1, lda: 1, ldb: D, ldc: 3 * C)
                mode_attention_softmax_backward_rows(ds, p, 1, n, 0)
                // dq (1, D) = scale · dS · k ; dk (n, D) = scale · dSᵀ · q
                Matmul.gemm(dq + b * C + h * D, ds, k, m: 1, n: D, k: n, alpha: scale, lda: n, ldb: 3 * C, ldc: D)
                Matmul.gemm(dk, ds, qh, m: n, n: D, k: 1, alpha: scale, lda: 1, ldb: D, ldc: 3 * C)
                for j in n..<T {
                    (dk + j * 3 * C).update(repeating: 0, count: D)
                    (dv + j * 3 * C).update(repeating: 0, count: D)
                }
            }
        }
    }

    /// Naive `backwardSelected`, in any precision (recomputes the probabilities).
    public static func backwardSelectedReference<F: BinaryFloatingPoint>(
        _ dq: UnsafeMutablePointer<F>,    // (B, C)
        _ dqkv: UnsafeMutablePointer<F>,  // (B, T, 3C)
        _ dout: UnsafePointer<F>,         // (B, C)
        _ q: UnsafePointer<F>,            // (B, C)
        _ qkv: UnsafePointer<F>,          // (B, T, 3C)
        valid: UnsafePointer<Int>,        // (B)
        batch: Int, tokens T: Int, heads H: Int, headDim D: Int
    ) {
        let C = H * D
        let scale = 1 / F(D).squareRoot()
        for b in 0..<batch {
            let n = valid[b]
            for h in 0..<H {
                func kv(_ j: Int, _ part: Int, _ d: Int) -> F { qkv[(b * T + j) * 3 * C + part * C + h * D + d] }
                var s = [F](repeating: 0, count: n)
                for j in 0..<n {
                    for d in 0..<D { s[j] += q[b * C + h * D + d] * kv(j, 1, d) }
                    s[j] *= scale
                }
                let m = s.max()!
                let e = s.map { F(Foundation.exp(Double($0 - m))) }
                let z = e.reduce(0, +)
                let p = e.map { $0 / z }
                var dp = [F](repeating: 0, count: n)
                for j in 0..<n { for d in 0..<D { dp[j] += dout[b * C + h * D + d] * kv(j, 2, d) } }
                var dot: F = 0
                for j in 0..<n { dot += p[j] * dp[j] }
                for d in 0..<D {
                    var acc: F = 0
                    for j in 0..<n { acc += p[j] * (dp[j] - dot) * scale * kv(j, 1, d) }
                    dq[b * C + h * D + d] = acc
                }
                for j in 0..<T {
                    for d in 0..<D {
                        let row = (b * T + j) * 3 * C + h * D + d
                        dqkv[row + C] = j < n ? p[j] * (dp[j] - dot) * scale * q[b * C + h * D + d] : 0
                        dqkv[row + 2 * C] = j < n ? p[j] * dout[b * C + h * D + d] : 0
                    }
                }
            }
        }
    }

    /// Naive `forwardSelected`, in any precision.
    public static func forwardSelectedReference<F: BinaryFloatingPoint>(
        _ out: UnsafeMutablePointer<F>,   // (B, C)
        _ q: UnsafePointer<F>,            // (B, C)
        _ qkv: UnsafePointer<F>,          // (B, T, 3C)
        valid: UnsafePointer<Int>,        // (B)
        batch: Int, tokens T: Int, heads H: Int, headDim D: Int
    ) {
        let C = H * D
        let scale = 1 / F(D).squareRoot()
        for b in 0..<batch {
            let n = valid[b]
            for h in 0..<H {
                var s = [F](repeating: 0, count: n)
                for j in 0..<n {
                    for d in 0..<D { s[j] += q[b * C + h * D + d] * qkv[(b * T + j) * 3 * C + C + h * D + d] }
                    s[j] *= scale
                }
                let m = s.max()!
                let e = s.map { F(Foundation.exp(Double($0 - m))) }
                let z = e.reduce(0, +)
                for d in 0..<D {
                    var acc: F = 0
                    for j in 0..<n { acc += e[j] / z * qkv[(b * T + j) * 3 * C + 2 * C + h * D + d] }
                    out[b * C + h * D + d] = acc
                }
            }
        }
    }

    // MARK: naive references (for tests; generic so they can run in Double)

    /// Naive `forward`: same layout and results, plain loops, exp in Double.
    public static func forwardReference<F: BinaryFloatingPoint>(
        _ out: UnsafeMutablePointer<F>,   // (B, T, C)
        _ probs: UnsafeMutablePointer<F>, // (B, H, T, T)
        _ qkv: UnsafePointer<F>,          // (B, T, 3C)
        batch: Int, tokens T: Int, heads H: Int, headDim D: Int, causal: Bool
    ) {
        let C = H * D
        let scale = 1 / F(D).squareRoot()
        for b in 0..<batch {
            for h in 0..<H {
                let p = probs + (b * H + h) * T * T
                for i in 0..<T {
                    let n = causal ? i + 1 : T
                    let q = qkv + (b * T + i) * 3 * C + h * D
                    var m = -F.infinity
                    for j in 0..<n {
                        let k = qkv + (b * T + j) * 3 * C + C + h * D
                        var s: F = 0
                        for d in 0..<D { s += q[d] * k[d] }
                        p[i * T + j] = s * scale
                        m = max(m, s * scale)
                    }
                    var sum: F = 0
                    for j in 0..<n {
                        p[i * T + j] = F(Foundation.exp(Double(p[i * T + j] - m)))
                        sum += p[i * T + j]
                    }
                    for j in 0..<T { p[i * T + j] = j < n ? p[i * T + j] / sum : 0 }
                    let o = out + (b * T + i) * C + h * D
                    for d in 0..<D {
                        var acc: F = 0
                        for j in 0..<n { acc += p[i * T + j] * qkv[(b * T + j) * 3 * C + 2 * C + h * D + d] }
                        o[d] = acc
                    }
                }
            }
        }
    }

    /// Naive `backward`: overwrites dqkv (B, T, 3C) from dout (B, T, C), qkv and probs.
    public static func backwardReference<F: BinaryFloatingPoint>(
        _ dqkv: UnsafeMutablePointer<F>, // (B, T, 3C)
        _ dout: UnsafePointer<F>,        // (B, T, C)
        _ qkv: UnsafePointer<F>,         // (B, T, 3C)
        _ probs: UnsafePointer<F>,       // (B, H, T, T)
        batch: Int, tokens T: Int, heads H: Int, headDim D: Int, causal: Bool
    ) {
        let C = H * D
        let scale = 1 / F(D).squareRoot()
        dqkv.update(repeating: 0, count: batch * T * 3 * C)
        func at(_ b: Int, _ t: Int, _ part: Int, _ h: Int) -> Int { (b * T + t) * 3 * C + part * C + h * D }
        var ds = [F](repeating: 0, count: T)
        for b in 0..<batch {
            for h in 0..<H {
                let p = probs + (b * H + h) * T * T
                for i in 0..<T {
                    let n = causal ? i + 1 : T
                    let dO = dout + (b * T + i) * C + h * D
                    // dP[i, j] = dO[i] · v[j];  dv[j] += p[i, j] · dO[i]
                    for j in 0..<n {
                        var s: F = 0
                        for d in 0..<D {
                            s += dO[d] * qkv[at(b, j, 2, h) + d]
                            dqkv[at(b, j, 2, h) + d] += p[i * T + j] * dO[d]
                        }
                        ds[j] = s
                    }
                    var dot: F = 0
                    for j in 0..<n { dot += p[i * T + j] * ds[j] }
                    for j in 0..<n {
                        let g = p[i * T + j] * (ds[j] - dot) * scale
                        for d in 0..<D {
                            dqkv[at(b, i, 0, h) + d] += g * qkv[at(b, j, 1, h) + d]
                            dqkv[at(b, j, 1, h) + d] += g * qkv[at(b, i, 0, h) + d]
                        }
                    }
                }
            }
        }
    }
}
