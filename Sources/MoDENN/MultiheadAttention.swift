import MoDETensor

/// Self-attention with PyTorch's `nn.MultiheadAttention` parameters (batch first, q = k = v = x):
/// `in_proj_weight` (3C, C), `in_proj_bias` (3C), `out_proj.weight` (C, C), `out_proj.bias` (C).
/// Optionally causal (open_clip's text tower: query i attends to keys j ≤ i).
public struct MultiheadAttention: Sendable {
    /// The fused q | k | v projection, (B·T, C) → (B·T, 3C).
    public let inProj: Linear
    public let outProj: Linear
    public let width: Int
    public let heads: Int
    public let causal: Bool
    public var headDim: Int { width / heads }

    /// Declares the four parameters under `scope` (e.g. `transformer.resblocks.0.attn`).
    public init(_ scope: ParameterScope, width: Int, heads: Int, causal: Bool = false) {
        precondition(heads > 0 && width % heads == 0, "width \(width) is not a multiple of heads \(heads)")
        self.width = width
        self.heads = heads
        self.causal = causal
        inProj = Linear(scope, in: width, out: 3 * width, weightName: "in_proj_weight", biasName: "in_proj_bias")
        outProj = Linear(scope.scoped("out_proj"), in: width, out: width)
    }

    /// Activations saved by `forward` for `backward`, and backward's scratch. Allocate once for
    /// the largest batch and sequence length and reuse; `forward` records the batch and the
    /// sequence length it ran with (buffers then hold (batch, tokens, …) packed).
    public final class Cache {
        public let capacity: Int
        /// Largest sequence length the buffers hold.
        public let maxTokens: Int
        /// Sequence length of the last `forward` (`maxTokens` until then).
        public internal(set) var tokens: Int
        /// Batch of the last `forward`.
        public internal(set) var batch = 0
        /// q | k | v, (capacity, maxTokens, 3C).
        public let qkv: Tensor
        /// Attention probabilities, (capacity, H, maxTokens, maxTokens).
        public let probs: Tensor
        /// Heads concatenated, the input of `out_proj`, (capacity, maxTokens, C).
        public let attended: Tensor
        /// Backward scratch: d(attended) (capacity, T, C) and d(qkv) (capacity, T, 3C), made at first use.
        lazy var dAttended = Tensor(shape: [capacity, maxTokens, attended.shape[2]])
        lazy var dqkv = Tensor(shape: [capacity, maxTokens, qkv.shape[2]])

        public init(_ layer: MultiheadAttention, batch capacity: Int, tokens: Int) {
            self.capacity = capacity
            self.maxTokens = tokens
            self.tokens = tokens
            qkv = Tensor(shape: [capacity, tokens, 3 * layer.width])
            probs = Tensor(shape: [capacity, layer.heads, tokens, tokens])
            attended = Tensor(shape: [capacity, tokens, layer.width])
        }
    }

    /// y (B, T, C) = out_proj(attention(in_proj(x))) for x (B, T, C); T = `tokens`, by default
    /// the cache's `maxTokens`.
    public func forward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, batch: Int, tokens: Int? = nil,
                        cache: Cache, _ arena: ParameterArena) {
        precondition(batch <= cache.capacity, "batch \(batch) exceeds the cache's \(cache.capacity)")
        let t = tokens ?? cache.maxTokens
        precondition(t >= 1 && t <= cache.maxTokens, "\(t) tokens outside 1...\(cache.maxTokens)")
        cache.batch = batch
        cache.tokens = t
        let rows = batch * t
        Profiler.region("qkv") { inProj.forward(cache.qkv.data, x, rows: rows, arena) }
        Profiler.region("core") {
            Attention.forward(cache.attended.data, cache.probs.data, cache.qkv.data, batch: batch, tokens: cache.tokens,
                              heads: heads, headDim: headDim, causal: causal)
        }
        Profiler.region("out_proj") { outProj.forward(y, cache.attended.data, rows: rows, arena) }
    }

    /// Backward of the last `forward` (x is its input). Accumulates the four parameter gradients
    /// into the arena. Writes dx (B, T, C), or adds to it when `accumulate` is true; pass nil
    /// when the input needs no gradient.
    public func backward(dx: UnsafeMutablePointer<Float>?, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
                         cache: Cache, _ arena: ParameterArena, accumulate: Bool = false) {
        let batch = cache.batch
        let rows = batch * cache.tokens
        Profiler.region("out_proj") { outProj.backward(dx: cache.dAttended.data, dy: dy, x: cache.attended.data, rows: rows, arena) }
        Profiler.region("core") {
            Attention.backward(cache.dqkv.data, cache.dAttended.data, cache.qkv.data, cache.probs.data, batch: batch,
                               tokens: cache.tokens, heads: heads, headDim: headDim, causal: causal)
        }
        Profiler.region("qkv") { inProj.backward(dx: dx, dy: cache.dqkv.data, x: x, rows: rows, arena, accumulate: accumulate) }
    }
}
