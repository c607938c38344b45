import MoDENN
import MoDETensor

/// open_clip's CLIP text tower (as `CLIP` holds it, at the top level of the state_dict): token
/// ids (B, L) → features (B, E), unnormalised.
///
///     x = token_embedding(ids) + positional_embedding; x = resblocks(x) (causal)
///     pooled = ln_final(x)[b, argmax(ids[b])]; features = pooled @ text_projection
///
/// The pooled token is the first position of the largest id of each sequence: the end-of-text
/// token (49407) in CLIP's vocabulary. Parameters under the given scope: `token_embedding.weight`
/// (V, C), `positional_embedding` (L, C), `transformer.resblocks.N.*`, `ln_final.*`,
/// `text_projection` (C, E). Layer norm acts on each token alone, so ln_final runs on the pooled
/// tokens only.
public struct TextTransformer: Sendable {
    public let tokenEmbedding: Embedding
    public let positionalEmbedding: PositionalEmbedding
    public let blocks: [ResidualAttentionBlock]
    public let lnFinal: LayerNorm
    public let textProjection: Param
    /// C
    public let width: Int
    /// L
    public let contextLength: Int
    /// E
    public let outputDim: Int
    /// V
    public var vocabularySize: Int { tokenEmbedding.vocabulary }

    /// Declares the tower's parameters under `scope` (open_clip's `CLIP`: the root).
    public init(_ scope: ParameterScope, config: CLIPConfig.TextConfig, embedDim: Int, activation: Activation) {
        let c = config.width
        width = c
        contextLength = config.contextLength
        outputDim = embedDim
        positionalEmbedding = PositionalEmbedding(scope, tokens: config.contextLength, width: c)
        textProjection = scope.add("text_projection", [c, embedDim])
        tokenEmbedding = Embedding(scope.scoped("token_embedding"), vocabulary: config.vocabSize, width: c)
        let resblocks = scope.scoped("transformer").scoped("resblocks")
        blocks = (0..<config.layers).map {
            ResidualAttentionBlock(resblocks.scoped(String($0)), width: c, heads: config.heads, mlpWidth: config.mlpWidth,
                                   activation: activation, causal: true)
        }
        lnFinal = LayerNorm(scope.scoped("ln_final"), dim: c)
    }

    /// open_clip's `TextTransformer.init_parameters`: token embedding N(0, 0.02), positions
    /// N(0, 0.01), `in_proj_weight` N(0, C^-½), `out_proj.weight` and `c_proj.weight`
    /// N(0, C^-½·(2·layers)^-½), `c_fc.weight` N(0, (2C)^-½), `text_projection` N(0, C^-½);
    /// the rest keeps PyTorch's defaults (attention biases 0, MLP biases U(±1/√fan_in), layer
    /// norms (1, 0)).
    public func initParameters(_ arena: ParameterArena, rng: inout SeededRNG) {
        let c = Float(width)
        let attnStd = 1 / c.squareRoot()
        let projStd = attnStd / (2 * Float(blocks.count)).squareRoot()
        let fcStd = 1 / (2 * c).squareRoot()
        arena.initNormal(tokenEmbedding.weight, std: 0.02, rng: &rng)
        arena.initNormal(positionalEmbedding.weight, std: 0.01, rng: &rng)
        for b in blocks {
            b.initPyTorchDefaults(arena, rng: &rng)
            arena.initNormal(b.attn.inProj.weight, std: attnStd, rng: &rng)
            arena.initNormal(b.attn.outProj.weight, std: projStd, rng: &rng)
            arena.initNormal(b.mlp.cFc.weight, std: fcStd, rng: &rng)
            arena.initNormal(b.mlp.cProj.weight, std: projStd, rng: &rng)
        }
        lnFinal.initParameters(arena)
        arena.initNormal(textProjection, std: attnStd, rng: &rng)
    }

    /// What a forward keeps for the backward, and the backward's scratch, for up to `capacity`
    /// sequences. Allocate once and reuse. An `inference` cache keeps only two residual-stream
    /// buffers and one block cache shared by all blocks; it cannot serve a backward.
    public final class Cache {
        public let capacity: Int
        public let inference: Bool
        /// Batch of the last `forward`.
        public internal(set) var batch = 0
        /// Tokens per sequence the last forward ran on (the last pooled position + 1).
        public internal(set) var tokens = 0
        /// The ids of the last forward, (batch, tokens) packed, for the embedding's backward.
        let ids: UnsafeMutablePointer<Int32>
        /// The pooled position of each sequence (capacity).
        let pooledAt: UnsafeMutablePointer<Int>
        /// Training: streams[i] is block i's input (streams[0] the embedded tokens), (capacity,
        /// L, C) each, holding (batch, tokens, C) packed. Inference: two buffers used in turn.
        /// The last block writes the pooled tokens to `pooled` directly.
        let streams: [Tensor]
        /// One per block (training) or one shared (inference).
        let blocks: [ResidualAttentionBlock.Cache]
        /// The pooled tokens (capacity, C), and ln_final of them (capacity, C).
        let pooled: Tensor
        let pooledNorm: Tensor
        let lnFinal: LayerNorm.Cache
        /// Backward scratch: the residual stream's gradient (capacity, L, C) and the pooled
        /// tokens' gradient (capacity, C), made at first use.
        lazy var dStream = Tensor(shape: streams[0].shape)
        lazy var dPooled = Tensor(shape: pooled.shape)

        public init(_ tower: TextTransformer, batch capacity: Int, inference: Bool = false) {
            precondition(capacity > 0, "cache capacity must be positive")
            self.capacity = capacity
            self.inference = inference
            let (l, c) = (tower.contextLength, tower.width)
            ids = .allocate(capacity: capacity * l)
            ids.initialize(repeating: 0, count: capacity * l)
            pooledAt = .allocate(capacity: capacity)
            pooledAt.initialize(repeating: 0, count: capacity)
            streams = (0..<(inference ? 2 : tower.blocks.count)).map { _ in Tensor(shape: [capacity, l, c]) }
            blocks = (inference ? Array(tower.blocks.prefix(1)) : tower.blocks).map {
                ResidualAttentionBlock.Cache($0, batch: capacity, tokens: l)
            }
            pooled = Tensor(shape: [capacity, c])
            pooledNorm = Tensor(shape: [capacity, c])
            lnFinal = LayerNorm.Cache(rows: capacity)
        }

        deinit {
            ids.deallocate()
            pooledAt.deallocate()
        }
    }

    /// features (B, E) = tower(ids (B, L)); fills `cache` for `backward` (unless it is an
    /// inference cache). Ids must lie in 0..<V (the embedding stops the process otherwise).
    ///
    /// Under the causal mask a token's output depends only on the tokens before it, so the
    /// positions after the last pooled one of the batch cannot change the features: the tower
    /// runs on the first `t = max_b argmax(ids[b]) + 1` tokens only (exactly the same values for
    /// what is kept, and no gradient reaches the rest).
    public func forward(_ features: UnsafeMutablePointer<Float>, _ ids: UnsafePointer<Int32>, batch: Int,
                        cache: Cache, _ arena: ParameterArena) {
        precondition(batch > 0 && batch <= cache.capacity, "batch \(batch) outside 1...\(cache.capacity)")
        cache.batch = batch
        let (l, c) = (contextLength, width)
        var t = 1
        for b in 0..<batch {
            cache.pooledAt[b] = Self.argmax(ids + b * l, count: l)
            t = max(t, cache.pooledAt[b] + 1)
        }
        cache.tokens = t
        for b in 0..<batch { (cache.ids + b * t).update(from: ids + b * l, count: t) }
        let x0 = cache.streams[0].data
        Profiler.region("embed") {
            tokenEmbedding.forward(x0, ids: cache.ids, count: batch * t, arena)
            positionalEmbedding.forward(x0, x0, batch: batch, tokens: t, arena)
        }
        // The last block computes the pooled tokens only, straight into `pooled`.
        let pooled = cache.pooled.data, last = blocks[blocks.count - 1]
        if cache.inference {
            // Blocks alternate between the two buffers.
            var (input, output) = (x0, cache.streams[1].data)
            for block in blocks.dropLast() {
                Profiler.region("block") { block.forward(output, input, batch: batch, tokens: t, cache: cache.blocks[0], arena) }
                swap(&input, &output)
            }
            Profiler.region("block.last") { last.forwardSelected(pooled, input, positions: cache.pooledAt, batch: batch, tokens: t, cache: cache.blocks[0], arena) }
        } else {
            for (i, block) in blocks.dropLast().enumerated() {
                Profiler.region("block") {
                    block.forward(cache.streams[i + 1].data, cache.streams[i].data, batch: batch, tokens: t,
                                  cache: cache.blocks[i], arena)
                }
            }
            Profiler.region("block.last") {
                last.forwardSelected(pooled, cache.streams[blocks.count - 1].data, positions: cache.pooledAt, batch: batch,
                                     tokens: t, cache: cache.blocks[blocks.count - 1], arena)
            }
        }
        Profiler.region("ln_final") { lnFinal.forward(cache.pooledNorm.data, pooled, rows: batch, cache: cache.lnFinal, arena) }
        Profiler.region("proj") { Matmul.gemm(features, cache.pooledNorm.data, arena.value(textProjection), m: batch, n: outputDim, k: c) }
    }

    /// Backward of the last training `forward`, from dFeatures (B, E). ACCUMULATES every
    /// parameter gradient of the tower into the arena.
    public func backward(dFeatures: UnsafePointer<Float>, cache: Cache, _ arena: ParameterArena) {
        precondition(!cache.inference, "an inference cache cannot serve a backward")
        let (batch, t) = (cache.batch, cache.tokens)
        let (c, e) = (width, outputDim)
        Profiler.region("proj") { Matmul.gemm(arena.grad(textProjection), cache.pooledNorm.data, dFeatures, m: c, n: e, k: batch, transA: true, beta: 1) }
        let dPooled = cache.dPooled.data
        Profiler.region("proj") { Matmul.gemm(dPooled, dFeatures, arena.value(textProjection), m: batch, n: c, k: e, transB: true) }
        Profiler.region("ln_final") { lnFinal.backward(dx: dPooled, dy: dPooled, x: cache.pooled.data, rows: batch, cache: cache.lnFinal, arena) }
        let grad = cache.dStream.data, n = blocks.count
        Profiler.region("block.last") { blocks[n - 1].backwardSelected(dx: grad, dy: dPooled, x: cache.streams[n - 1].data, cache: cache.blocks[n - 1], arena) }
        for (i, block) in blocks.dropLast().enumerated().reversed() {
            Profiler.region("block") { block.backward(grad: grad, x: cache.streams[i].data, cache: cache.blocks[i], arena) }
        }
        Profiler.region("embed") {
            positionalEmbedding.backward(dx: nil, dy: grad, batch: batch, tokens: t, arena)
            tokenEmbedding.backward(dy: grad, ids: cache.ids, count: batch * t, arena)
        }
    }

    /// The first position of the largest id (PyTorch's `argmax`).
    static func argmax(_ ids: UnsafePointer<Int32>, count: Int) -> Int {
        var best = 0
        for i in 1..<max(1, count) where ids[i] > ids[best] { best = i }
        return best
    }
}
