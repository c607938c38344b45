import MoDETensor

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
        /// Whether the last forward was `forwardSelected`.
        public internal(set) var selected = false
        /// Selected positions (capacity) and each one's count of visible keys (capacity).
        let positions: UnsafeMutablePointer<Int>
        let valid: UnsafeMutablePointer<Int>
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
            positions = .allocate(capacity: capacity)
            positions.initialize(repeating: 0, count: capacity)
            valid = .allocate(capacity: capacity)
            valid.initialize(repeating: 1, count: capacity)
        }

        deinit {
            positions.deallocate()
            valid.deallocate()
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
        cache.selected = false
        let rows = batch * t, n = rows * width
        Profiler.region("ln_1") { ln1.forward(cache.h1.data, x, rows: rows, cache: cache.ln1, arena) }
        Profiler.region("attn") { attn.forward(cache.scratch.data, cache.h1.data, batch: batch, tokens: t, cache: cache.attn, arena) }
        Profiler.region("residual") { Elementwise.add(cache.mid.data, x, cache.scratch.data, count: n) }
        Profiler.region("ln_2") { ln2.forward(cache.h2.data, cache.mid.data, rows: rows, cache: cache.ln2, arena) }
        Profiler.region("mlp") { mlp.forward(cache.scratch.data, cache.h2.data, rows: rows, cache: cache.mlp, arena) }
        Profiler.region("residual") { Elementwise.add(y, cache.mid.data, cache.scratch.data, count: n) }
    }

    /// A final block whose output is pooled: y (B, C) = block(x (B, T, C)) at position
    /// positions[b] of each sequence, computing every token's keys and values but only those
    /// positions' queries, attention, MLP. With the causal mask, sequence b sees keys
    /// 0...positions[b]. T = `tokens`, by default the cache's `maxTokens` (at least 2). Fills
    /// `cache` for `backwardSelected` (not for `backward`).
    public func forwardSelected(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, positions: UnsafePointer<Int>,
                                batch: Int, tokens: Int? = nil, cache: Cache, _ arena: ParameterArena) {
        precondition(batch <= cache.capacity, "batch \(batch) exceeds the cache's \(cache.capacity)")
        precondition(cache.maxTokens >= 2, "selected-position forward needs a cache of at least 2 tokens")
        let t = tokens ?? cache.maxTokens
        precondition(t >= 1 && t <= cache.maxTokens, "\(t) tokens outside 1...\(cache.maxTokens)")
        cache.batch = batch
        cache.tokens = t
        cache.selected = true
        let (c, rows, bc) = (width, batch * t, batch * width)
        let h1 = cache.h1.data, qkv = cache.attn.qkv.data
        Profiler.region("ln_1") { ln1.forward(h1, x, rows: rows, cache: cache.ln1, arena) }
        // k | v (rows, 2C) = h1 · W[C..<3C]ᵀ + b[C..<3C], into columns C..<3C of qkv (B, T, 3C).
        let w = arena.value(attn.inProj.weight), bias = arena.value(attn.inProj.bias!)
        Profiler.region("attn.kv") {
            Parallel.forEach(rows, grain: 256) { r in
                for i in r { (qkv + i * 3 * c + c).update(from: bias + c, count: 2 * c) }
            }
            Matmul.gemm(qkv + c, h1, w + c * c, m: rows, n: 2 * c, k: c, transB: true, beta: 1, lda: c, ldb: c, ldc: 3 * c)
        }
        // Buffers (B, C) each: selected ln_1 rows h2[0], ln_2 output h2[1], attention output
        // attended[0], queries attended[1], mid[0], MLP output scratch[0].
        let selected = cache.h2.data, normed = selected + bc
        let attended = cache.attn.attended.data, q = attended + bc
        let mid = cache.mid.data, out = cache.scratch.data
        let pos = cache.positions, valid = cache.valid
        for b in 0..<batch {
            precondition(positions[b] >= 0 && positions[b] < t, "position \(positions[b]) outside 0..<\(t)")
            pos[b] = positions[b]
            valid[b] = attn.causal ? pos[b] + 1 : t
            (selected + b * c).update(from: h1 + (b * t + pos[b]) * c, count: c)
            (q + b * c).update(from: bias, count: c)
        }
        Profiler.region("attn.q") { Matmul.gemm(q, selected, w, m: batch, n: c, k: c, transB: true, beta: 1) }
        Profiler.region("attn.core") {
            Attention.forwardSelected(attended, cache.attn.probs.data, q, qkv, valid: valid, batch: batch, tokens: t,
                                      heads: attn.heads, headDim: attn.headDim)
        }
        Profiler.region("attn.out_proj") { attn.outProj.forward(mid, attended, rows: batch, arena) }
        for b in 0..<batch {
            let m = mid + b * c, xr = x + (b * t + pos[b]) * c
            for j in 0..<c { m[j] += xr[j] }
        }
        Profiler.region("ln_2") { ln2.forward(normed, mid, rows: batch, cache: cache.ln2, arena) }
        Profiler.region("mlp") { mlp.forward(out, normed, rows: batch, cache: cache.mlp, arena) }
        Elementwise.add(y, mid, out, count: bc)
    }

    /// Backward of the last `forwardSelected` (x its input), from dy (B, C): writes dx (B, T, C)
    /// (x's gradient; rows only reach the output through keys and values, and the selected rows
    /// also directly). ACCUMULATES every parameter gradient into the arena.
    public func backwardSelected(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
                                 cache: Cache, _ arena: ParameterArena) {
        precondition(cache.selected, "backwardSelected needs a forwardSelected before it")
        let (batch, t, c) = (cache.batch, cache.tokens, width)
        let (rows, bc) = (batch * t, batch * width)
        let selected = cache.h2.data, normed = selected + bc
        let attended = cache.attn.attended.data, q = attended + bc
        let mid = cache.mid.data, dMid = mid + bc, scratch = cache.scratch.data
        let dAttended = cache.attn.dAttended.data, dq = dAttended + bc
        let dqkv = cache.attn.dqkv.data, qkv = cache.attn.qkv.data, h1 = cache.h1.data
        let pos = cache.positions
        // y = mid + mlp(ln_2(mid))
        Profiler.region("mlp") { mlp.backward(dx: scratch, dy: dy, x: normed, rows: batch, cache: cache.mlp, arena) }
        dMid.update(from: dy, count: bc)
        Profiler.region("ln_2") { ln2.backward(dx: dMid, dy: scratch, x: mid, rows: batch, cache: cache.ln2, arena, accumulate: true) }
        // mid = x_selected + out_proj(attention(q, k, v))
        Profiler.region("attn.out_proj") { attn.outProj.backward(dx: dAttended, dy: dMid, x: attended, rows: batch, arena) }
        Profiler.region("attn.core") {
            Attention.backwardSelected(dq, dqkv, dAttended, q, qkv, cache.attn.probs.data, valid: cache.valid, batch: batch,
                                       tokens: t, heads: attn.heads, headDim: attn.headDim)
        }
        Profiler.region("attn.in_proj") {
            // k | v = h1 · W[C..<3C]ᵀ + b[C..<3C] over all rows; q = h1_selected · W[0..<C]ᵀ + b[0..<C].
            let w = arena.value(attn.inProj.weight), gw = arena.grad(attn.inProj.weight), gb = arena.grad(attn.inProj.bias!)
            Matmul.gemm(gw + c * c, dqkv + c, h1, m: 2 * c, n: c, k: rows, transA: true, beta: 1, lda: 3 * c)
            Parallel.forEach(2 * c, grain: 64) { cols in
                for r in 0..<rows {
                    let row = dqkv + r * 3 * c + c
                    for j in cols { gb[c + j] += row[j] }
                }
            }
            Matmul.gemm(gw, dq, selected, m: c, n: c, k: batch, transA: true, beta: 1)
            for b in 0..<batch { for j in 0..<c { gb[j] += dq[b * c + j] } }
            // d h1 (rows, C) = d(k | v) · W[C..<3C], plus the selected rows' d q · W[0..<C]
            Matmul.gemm(scratch, dqkv + c, w + c * c, m: rows, n: c, k: 2 * c, lda: 3 * c)
            Matmul.gemm(dAttended, dq, w, m: batch, n: c, k: c)
            for b in 0..<batch {
                let r = scratch + (b * t + pos[b]) * c, d = dAttended + b * c
                for j in 0..<c { r[j] += d[j] }
            }
        }
        Profiler.region("ln_1") { ln1.backward(dx: dx, dy: scratch, x: x, rows: rows, cache: cache.ln1, arena) }
        for b in 0..<batch {
            let r = dx + (b * t + pos[b]) * c, d = dMid + b * c
            for j in 0..<c { r[j] += d[j] }
        }
    }

    /// Backward of the last `forward` (x its input). `grad` holds dy (B, T, C) on entry and dx on
    /// return (the residual stream's gradient is updated in place). ACCUMULATES every parameter
    /// gradient into the arena.
    public func backward(grad: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, cache: Cache, _ arena: ParameterArena) {
        precondition(!cache.selected, "the last forward was forwardSelected: use backwardSelected")
        let rows = cache.batch * cache.tokens
        // y = mid + mlp(ln_2(mid)): d(mid) = dy + ln_2ᵀ(mlpᵀ(dy))
        Profiler.region("mlp") { mlp.backward(dx: cache.scratch.data, dy: grad, x: cache.h2.data, rows: rows, cache: cache.mlp, arena) }
        Profiler.region("ln_2") { ln2.backward(dx: grad, dy: cache.scratch.data, x: cache.mid.data, rows: rows, cache: cache.ln2, arena, accumulate: true) }
        // mid = x + attn(ln_1(x)): dx = d(mid) + ln_1ᵀ(attnᵀ(d(mid)))
        Profiler.region("attn") { attn.backward(dx: cache.scratch.data, dy: grad, x: cache.h1.data, cache: cache.attn, arena) }
        Profiler.region("ln_1") { ln1.backward(dx: grad, dy: cache.scratch.data, x: x, rows: rows, cache: cache.ln1, arena, accumulate: true) }
    }
}
