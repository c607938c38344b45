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
    /// the largest batch and reuse.
    public final class Cache {
        public let capacity: Int
        public let tokens: Int
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

    /// y (B, T, C) = block(x (B, T, C)); y must not alias x (the backward needs x).
    public func forward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, batch: Int,
                        cache: Cache, _ arena: ParameterArena) {
        precondition(batch <= cache.capacity, "batch \(batch) exceeds the cache's \(cache.capacity)")
        cache.batch = batch
        let rows = batch * cache.tokens, n = rows * width
        ln1.forward(cache.h1.data, x, rows: rows, cache: cache.ln1, arena)
        attn.forward(cache.scratch.data, cache.h1.data, batch: batch, cache: cache.attn, arena)
        Elementwise.add(cache.mid.data, x, cache.scratch.data, count: n)
        ln2.forward(cache.h2.data, cache.mid.data, rows: rows, cache: cache.ln2, arena)
        mlp.forward(cache.scratch.data, cache.h2.data, rows: rows, cache: cache.mlp, arena)
        Elementwise.add(y, cache.mid.data, cache.scratch.data, count: n)
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
