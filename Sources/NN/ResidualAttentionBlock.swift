import Tensor

/// open_clip's pre-LN `ResidualAttentionBlock`:
///     x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))
/// Parameters under the block's scope: `ln_1.*`, `attn.in_proj_weight`, `attn.in_proj_bias`,
/// `attn.out_proj.*`, `ln_2.*`, `mlp.c_fc.*`, `mlp.c_proj.*`.
public struct ResidualAttentionBlock: Sendable {
    public let ln1: LayerNorm
    public let attn: MultiheadAttention
    public let ln2: LayerNorm
    public let mlp: MLP
    public let width: Int

    public init(_ scope: ParameterScope, width: Int, heads: Int, mlpWidth: Int, activation: Activation, causal: Bool) {
        self.width = width
        ln1 = LayerNorm(scope.scoped("ln_1"), dim: width)
        attn = MultiheadAttention(scope.scoped("attn"), width: width, heads: heads, causal: causal)
        ln2 = LayerNorm(scope.scoped("ln_2"), dim: width)
        mlp = MLP(scope.scoped("mlp"), width: width, hidden: mlpWidth, activation: activation)
    }

    /// Activations of one forward, kept for the backward, plus backward scratch. Allocate once for
    /// the largest batch and sequence length and reuse; `forward` records the batch and sequence
    /// length it ran with (buffers then hold (batch, tokens, C) packed).
    public final class Cache {
        public let capacity: Int
        /// Largest sequence length the buffers hold.
        public let maxTokens: Int
        /// Sequence length of the last `forward` (`maxTokens` until then).
        public internal(set) var tokens: Int
        public internal(set) var batch = 0
        /// ln_1(x), the attention's input (capacity, T, C).
        let h1: Tensor
        /// x + attn(ln_1(x)) (capacity, T, C).
        let mid: Tensor
        /// ln_2(mid), the MLP's input (capacity, T, C).
        let h2: Tensor
        /// Scratch for a branch output or its input gradient (capacity, T, C).
        let scratch: Tensor
        let ln1: LayerNorm.Cache
        let attn: MultiheadAttention.Cache
        let ln2: LayerNorm.Cache
        let mlp: MLP.Cache

        public init(_ block: ResidualAttentionBlock, batch capacity: Int, tokens: Int) {
            self.capacity = capacity
            self.maxTokens = tokens
            self.tokens = tokens
            let rows = capacity * tokens, c = block.width
            h1 = Tensor(shape: [rows, c])
            mid = Tensor(shape: [rows, c])
            h2 = Tensor(shape: [rows, c])
            scratch = Tensor(shape: [rows, c])
            ln1 = LayerNorm.Cache(rows: rows)
            attn = MultiheadAttention.Cache(block.attn, batch: capacity, tokens: tokens)
            ln2 = LayerNorm.Cache(rows: rows)
            mlp = block.mlp.makeCache(rows: rows)
        }
    }

    /// y (B, T, C) = block(x (B, T, C)); T = `tokens`, by default the cache's `maxTokens`. y must
    /// not alias x (the backward needs x).
    public func forward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, batch: Int, tokens: Int? = nil,
                        cache: Cache, _ arena: ParameterArena) {
        precondition(batch <= cache.capacity, "batch \(batch) exceeds the cache's \(cache.capacity)")
        let t = tokens ?? cache.maxTokens
        precondition(t >= 1 && t <= cache.maxTokens, "\(t) tokens outside 1...\(cache.maxTokens)")
        cache.batch = batch
        cache.tokens = t
        let rows = batch * t, n = rows * width
        ln1.forward(cache.h1.data, x, rows: rows, cache: cache.ln1, arena)
        attn.forward(cache.scratch.data, cache.h1.data, batch: batch, tokens: t, cache: cache.attn, arena)
        Elementwise.add(cache.mid.data, x, cache.scratch.data, count: n)
        ln2.forward(cache.h2.data, cache.mid.data, rows: rows, cache: cache.ln2, arena)
        mlp.forward(cache.scratch.data, cache.h2.data, rows: rows, cache: cache.mlp, arena)
        Elementwise.add(y, cache.mid.data, cache.scratch.data, count: n)
    }

    /// Inference for a final block whose output is pooled: y (B, C) = block(x (B, T, C)) at
    /// position positions[b] of each sequence, computing every token's keys and values but only
    /// those positions' queries, attention output and MLP. With the causal mask, sequence b sees
    /// keys 0...positions[b]. T = `tokens`, by default the cache's `maxTokens`. Uses `cache` as
    /// scratch: it cannot serve a backward afterwards.
    public func forwardSelected(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, positions: UnsafePointer<Int>,
                                batch: Int, tokens: Int? = nil, cache: Cache, _ arena: ParameterArena) {
        precondition(batch <= cache.capacity, "batch \(batch) exceeds the cache's \(cache.capacity)")
        let t = tokens ?? cache.maxTokens
        precondition(t >= 1 && t <= cache.maxTokens, "\(t) tokens outside 1...\(cache.maxTokens)")
        cache.batch = 0  // no backward from here
        let (c, rows) = (width, batch * t)
        let h1 = cache.h1.data, qkv = cache.attn.qkv.data
        ln1.forward(h1, x, rows: rows, cache: cache.ln1, arena)
        // k | v (rows, 2C) = h1 · W[C..<3C]ᵀ + b[C..<3C], into columns C..<3C of qkv (B, T, 3C).
        let w = arena.value(attn.inProj.weight), bias = arena.value(attn.inProj.bias!)
        Parallel.forEach(rows, grain: 256) { r in
            for i in r { (qkv + i * 3 * c + c).update(from: bias + c, count: 2 * c) }
        }
        Matmul.gemm(qkv + c, h1, w + c * c, m: rows, n: 2 * c, k: c, transB: true, beta: 1, lda: c, ldb: c, ldc: 3 * c)
        // The selected rows' ln_1 (B, C) into h2, their queries (B, C) into scratch.
        let selected = cache.h2.data, q = cache.scratch.data
        let valid = UnsafeMutablePointer<Int>.allocate(capacity: max(1, batch))
        defer { valid.deallocate() }
        for b in 0..<batch {
            precondition(positions[b] >= 0 && positions[b] < t, "position \(positions[b]) outside 0..<\(t)")
            (selected + b * c).update(from: h1 + (b * t + positions[b]) * c, count: c)
            (q + b * c).update(from: bias, count: c)
            valid[b] = attn.causal ? positions[b] + 1 : t
        }
        Matmul.gemm(q, selected, w, m: batch, n: c, k: c, transB: true, beta: 1)
        let attended = cache.attn.attended.data, mid = cache.mid.data
        Attention.forwardSelected(attended, q, qkv, valid: valid, batch: batch, tokens: t, heads: attn.heads, headDim: attn.headDim)
        attn.outProj.forward(mid, attended, rows: batch, arena)
        for b in 0..<batch {
            let m = mid + b * c, xr = x + (b * t + positions[b]) * c
            for j in 0..<c { m[j] += xr[j] }
        }
        ln2.forward(selected, mid, rows: batch, cache: cache.ln2, arena)
        mlp.forward(q, selected, rows: batch, cache: cache.mlp, arena)
        Elementwise.add(y, mid, q, count: batch * c)
    }

    /// Backward of the last `forward` (x its input). `grad` holds dy (B, T, C) on entry and dx on
    /// return (the residual stream's gradient is updated in place). ACCUMULATES every parameter
    /// gradient into the arena.
    public func backward(grad: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, cache: Cache, _ arena: ParameterArena) {
        let rows = cache.batch * cache.tokens
        // y = mid + mlp(ln_2(mid)): d(mid) = dy + ln_2ᵀ(mlpᵀ(dy))
        mlp.backward(dx: cache.scratch.data, dy: grad, x: cache.h2.data, rows: rows, cache: cache.mlp, arena)
        ln2.backward(dx: grad, dy: cache.scratch.data, x: cache.mid.data, rows: rows, cache: cache.ln2, arena, accumulate: true)
        // mid = x + attn(ln_1(x)): dx = d(mid) + ln_1ᵀ(attnᵀ(d(mid)))
        attn.backward(dx: cache.scratch.data, dy: grad, x: cache.h1.data, cache: cache.attn, arena)
        ln1.backward(dx: grad, dy: cache.scratch.data, x: x, rows: rows, cache: cache.ln1, arena, accumulate: true)
    }
}
