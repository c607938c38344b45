import CMoDEKernels
import Foundation
import MoDETensor
import RealModule

// Inference kernels specific to the BERT encoder: packed variable-length sequences (no padding
// rows), bidirectional attention, fused bias + GELU, and pooling. Each sits beside a naive
// reference used by the tests.

/// `Parallel.forEach` when `parallel`, else `body(0..<n)` on the calling thread.
@inline(__always) private func forEach(_ n: Int, grain: Int, _ parallel: Bool, _ body: (Range<Int>) -> Void) {
    if parallel { Parallel.forEach(n, grain: grain, body) } else if n > 0 { body(0..<n) }
}

/// Sequences packed one after another: sequence s occupies rows offsets[s] ..< offsets[s] + lengths[s].
public struct PackedSequences: Sendable, Equatable {
    /// Tokens of each sequence.
    public let lengths: [Int]
    /// First row of each sequence.
    public let offsets: [Int]
    /// Rows in all.
    public let rows: Int

    public init(lengths: [Int]) {
        precondition(lengths.allSatisfy { $0 >= 1 }, "every sequence needs at least one token")
        self.lengths = lengths
        var o: [Int] = []
        o.reserveCapacity(lengths.count)
        var r = 0
        for l in lengths {
            o.append(r)
            r += l
        }
        offsets = o
        rows = r
    }

    public var count: Int { lengths.count }
}

public enum BERTKernels {
    // MARK: Embeddings

    /// x (rows, C) = word[ids[r]] + position[r − start of its sequence] + tokenType[0], for the
    /// packed `seqs`; word (V, C), position (P, C), tokenType (·, C). Ids must be < V and
    /// lengths ≤ P (checked by the caller).
    public static func embed(_ x: UnsafeMutablePointer<Float>, ids: UnsafePointer<Int32>, _ seqs: PackedSequences,
                             word: UnsafePointer<Float>, position: UnsafePointer<Float>, tokenType: UnsafePointer<Float>,
                             width C: Int, parallel: Bool = true) {
        forEach(seqs.count, grain: max(1, rowGrain(C) / 16), parallel) { range in
            for s in range {
                let o = seqs.offsets[s]
                for t in 0..<seqs.lengths[s] {
                    let r = o + t
                    let w = word + Int(ids[r]) * C, p = position + t * C, y = x + r * C
                    var c = 0
                    while c + 16 <= C {
                        store16(y + c, load16(w + c) + load16(p + c) + load16(tokenType + c))
                        c += 16
                    }
                    while c < C {
                        y[c] = w[c] + p[c] + tokenType[c]
                        c += 1
                    }
                }
            }
        }
    }

    // MARK: Bias, residual, GELU

    /// y (rows, n) = residual (rows, n) + bias (n), the starting value of `y += a · Wᵀ`.
    /// `residual` nil means zeros.
    public static func residualPlusBias(_ y: UnsafeMutablePointer<Float>, _ residual: UnsafePointer<Float>?,
                                        _ bias: UnsafePointer<Float>, rows: Int, cols n: Int, parallel: Bool = true) {
        forEach(rows, grain: rowGrain(n), parallel) { range in
            for r in range {
                let yr = y + r * n
                var c = 0
                if let residual {
                    let xr = residual + r * n
                    while c + 16 <= n { store16(yr + c, load16(xr + c) + load16(bias + c)); c += 16 }
                    while c < n { yr[c] = xr[c] + bias[c]; c += 1 }
                } else {
                    while c + 16 <= n { store16(yr + c, load16(bias + c)); c += 16 }
                    while c < n { yr[c] = bias[c]; c += 1 }
                }
            }
        }
    }

    /// y (rows, n) = GELU(y + bias (n)) in place, the exact-erf GELU in PyTorch's order of
    /// operations: v · 0.5 · (1 + erf(v · √½)).
    public static func biasGELU(_ y: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, rows: Int, cols n: Int,
                                parallel: Bool = true) {
        forEach(rows, grain: rowGrain(n), parallel) { range in
            mode_bias_gelu_rows(y, bias, range.lowerBound, range.upperBound, n)
        }
    }

    /// Reference for `biasGELU` (libm erf).
    public static func biasGELUReference<T: Real & BinaryFloatingPoint>(_ y: UnsafeMutablePointer<T>, _ bias: UnsafePointer<T>, rows: Int, cols n: Int) {
        for r in 0..<rows {
            for c in 0..<n {
                let v = y[r * n + c] + bias[c]
                y[r * n + c] = v * T(0.5) * (1 + T.erf(v / T(2).squareRoot()))
            }
        }
    }

    /// y (rows, n) = tanh(y) in place.
    public static func tanh(_ y: UnsafeMutablePointer<Float>, rows: Int, cols n: Int, parallel: Bool = true) {
        forEach(rows, grain: rowGrain(n), parallel) { range in
            mode_vtanh(y + range.lowerBound * n, y + range.lowerBound * n, range.count * n)
        }
    }

    // MARK: Attention

    /// Sequences at most this long take the direct path (dot products in registers, the C kernel
    /// `mode_bert_attend_direct`); longer ones go through two small GEMMs per head.
    public static let directAttentionLimit = 48

    /// ctx (rows, C) = softmax(q kᵀ / √D) v per sequence and head, heads concatenated, over the
    /// packed `seqs`; qkv (rows, 3C) holds q | k | v with head h in columns h·D ..< (h+1)·D of
    /// each part (C = heads · D). Bidirectional: every token sees all tokens of its own sequence
    /// and none of the others (the packed equivalent of a key padding mask). Parallel over
    /// (sequence, head) pairs when `parallel` (the GEMM path single-threaded per pair).
    public static func attention(_ ctx: UnsafeMutablePointer<Float>, _ qkv: UnsafePointer<Float>, _ seqs: PackedSequences,
                                 heads H: Int, headDim D: Int, parallel: Bool = true) {
        let C = H * D
        let scale = 1 / Float(D).squareRoot()
        let longest = seqs.lengths.max() ?? 0
        let direct = min(longest, directAttentionLimit), directPadded = (direct + 15) & ~15
        let workSize = max(longest * longest, direct * directPadded + D * directPadded, 1)
        func run(_ pairs: Range<Int>) {
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: workSize)
            defer { scores.deallocate() }
            for pair in pairs {
                let (s, h) = pair.quotientAndRemainder(dividingBy: H)
                let L = seqs.lengths[s], o = seqs.offsets[s]
                let q = qkv + o * 3 * C + h * D, k = q + C, v = q + 2 * C
                let out = ctx + o * C + h * D
                if L <= directAttentionLimit {
                    mode_bert_attend_direct(out, q, k, v, scores, L, D, 3 * C, C, scale)
                } else {
                    // scores (L, L) = scale · q (L, D) · kᵀ; out (L, D) = softmax(scores) · v
                    Matmul.gemm(scores, q, k, m: L, n: L, k: D, transB: true, alpha: scale, lda: 3 * C, ldb: 3 * C, ldc: L)
                    mode_bert_softmax_rows(scores, L, L)
                    Matmul.gemm(out, scores, v, m: L, n: D, k: L, lda: L, ldb: 3 * C, ldc: C)
                }
            }
        }
        if parallel {
            Matmul.forEachSingleThreaded(seqs.count * H) { run($0) }
        } else if seqs.count > 0 {
            run(0..<(seqs.count * H))
        }
    }

    /// Reference for `attention`: padded batch (B, T) with `mask` (B, T) of 1 (token) / 0
    /// (padding); ctx (B, T, C) from qkv (B, T, 3C). Masked keys get an additive −∞-like score,
    /// as Hugging Face's extended attention mask does.
    public static func attentionReference<T: Real & BinaryFloatingPoint>(_ ctx: UnsafeMutablePointer<T>, _ qkv: UnsafePointer<T>,
                                                                         mask: UnsafePointer<Int32>, batch B: Int, tokens: Int,
                                                                         heads H: Int, headDim D: Int, parallel: Bool = true) {
        let C = H * D
        let scale = 1 / T(D).squareRoot()
        var p = [T](repeating: 0, count: tokens)
        for b in 0..<B {
            for h in 0..<H {
                for i in 0..<tokens {
                    let qi = qkv + (b * tokens + i) * 3 * C + h * D
                    var m = -T.infinity
                    for j in 0..<tokens {
                        let kj = qkv + (b * tokens + j) * 3 * C + C + h * D
                        var s: T = 0
                        for c in 0..<D { s += qi[c] * kj[c] }
                        p[j] = s * scale + (mask[b * tokens + j] == 0 ? -T.greatestFiniteMagnitude : 0)
                        m = max(m, p[j])
                    }
                    var sum: T = 0
                    for j in 0..<tokens {
                        p[j] = T.exp(p[j] - m)
                        sum += p[j]
                    }
                    for c in 0..<D {
                        var acc: T = 0
                        for j in 0..<tokens { acc += p[j] * qkv[(b * tokens + j) * 3 * C + 2 * C + h * D + c] }
                        ctx[(b * tokens + i) * C + h * D + c] = acc / sum
                    }
                }
            }
        }
    }

    // MARK: Pooling

    /// out (B, C) = per-sequence pooling of x (rows, C) over the packed `seqs`: mean, the first
    /// ([CLS]) row, element-wise max, or sum / √length. (`clsPooler` is `cls` here; the model
    /// applies the pooler layer afterwards.)
    public static func pool(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ seqs: PackedSequences,
                            width C: Int, mode: BERTPooling, parallel: Bool = true) {
        forEach(seqs.count, grain: max(1, rowGrain(C) / 16), parallel) { range in
            for s in range {
                let o = seqs.offsets[s], L = seqs.lengths[s]
                let y = out + s * C
                switch mode {
                case .cls, .clsPooler:
                    y.update(from: x + o * C, count: C)
                case .max:
                    y.update(from: x + o * C, count: C)
                    for t in 1..<max(1, L) {
                        let xr = x + (o + t) * C
                        for c in 0..<C { y[c] = Swift.max(y[c], xr[c]) }
                    }
                case .mean, .meanSqrtLen:
                    y.update(repeating: 0, count: C)
                    for t in 0..<L {
                        let xr = x + (o + t) * C
                        var c = 0
                        while c + 16 <= C { store16(y + c, load16(y + c) + load16(xr + c)); c += 16 }
                        while c < C { y[c] += xr[c]; c += 1 }
                    }
                    let d = mode == .mean ? Float(L) : Float(L).squareRoot()
                    for c in 0..<C { y[c] /= d }
                }
            }
        }
    }

    /// Reference for `pool` on a padded batch x (B, T, C) with `mask` (B, T), as
    /// sentence-transformers computes it (sums over masked tokens, divided by the token count).
    public static func poolReference<T: Real & BinaryFloatingPoint>(_ out: UnsafeMutablePointer<T>, _ x: UnsafePointer<T>,
                                                                    mask: UnsafePointer<Int32>, batch B: Int, tokens: Int, width C: Int,
                                                                    mode: BERTPooling) {
        for b in 0..<B {
            let n = (0..<tokens).reduce(0) { $0 + Int(mask[b * tokens + $1]) }
            for c in 0..<C {
                var acc: T = mode == .max ? -T.infinity : 0
                for t in 0..<tokens where mask[b * tokens + t] != 0 {
                    let v = x[(b * tokens + t) * C + c]
                    acc = mode == .max ? max(acc, v) : acc + v
                }
                switch mode {
                case .cls, .clsPooler: out[b * C + c] = x[b * tokens * C + c]
                case .max: out[b * C + c] = acc
                case .mean: out[b * C + c] = acc / T(max(n, 1))
                case .meanSqrtLen: out[b * C + c] = acc / T(max(n, 1)).squareRoot()
                }
            }
        }
    }
}
