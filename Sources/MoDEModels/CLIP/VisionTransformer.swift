import MoDENN
import MoDETensor

/// open_clip's `VisionTransformer` (learnable positions, `pool_type` 'tok', `final_ln_after_pool`
/// false, no patch dropout): images (B, 3, S, S) → features (B, E), unnormalised.
///
///     x = conv1(images) as patch tokens; prepend class_embedding; + positional_embedding
///     x = ln_pre(x); x = resblocks(x); pooled = ln_post(x)[:, 0]; features = pooled @ proj
///
/// Parameters under the tower's scope (`visual`): `class_embedding` (C), `positional_embedding`
/// (T, C), `proj` (C, E), `conv1.weight` (C, 3, P, P), `ln_pre.*`, `transformer.resblocks.N.*`,
/// `ln_post.*` — declared in that order, as open_clip's state_dict lists them. T = (S/P)² + 1.
/// Since layer norm acts on each token alone, ln_post runs on the class token only.
public struct VisionTransformer: Sendable {
    public let classEmbedding: Param
    public let positionalEmbedding: PositionalEmbedding
    public let proj: Param
    public let conv1: PatchEmbedding
    public let lnPre: LayerNorm
    public let blocks: [ResidualAttentionBlock]
    public let lnPost: LayerNorm
    /// C
    public let width: Int
    /// T = patches + 1 (the class token is token 0).
    public let tokens: Int
    /// E
    public let outputDim: Int
    public let imageSize: Int

    /// Declares the tower's parameters under `scope` (open_clip: `visual`).
    public init(_ scope: ParameterScope, config: CLIPConfig.VisionConfig, embedDim: Int, activation: Activation) {
        let c = config.width
        width = c
        tokens = config.tokens
        outputDim = embedDim
        imageSize = config.imageSize
        classEmbedding = scope.add("class_embedding", [c])
        positionalEmbedding = PositionalEmbedding(scope, tokens: config.tokens, width: c)
        proj = scope.add("proj", [c, embedDim])
        conv1 = PatchEmbedding(scope.scoped("conv1"), width: c, patchSize: config.patchSize, imageSize: config.imageSize)
        lnPre = LayerNorm(scope.scoped("ln_pre"), dim: c)
        let resblocks = scope.scoped("transformer").scoped("resblocks")
        blocks = (0..<config.layers).map {
            ResidualAttentionBlock(resblocks.scoped(String($0)), width: c, heads: config.heads, mlpWidth: config.mlpWidth,
                                   activation: activation, causal: false)
        }
        lnPost = LayerNorm(scope.scoped("ln_post"), dim: c)
    }

    /// open_clip's initial values. Its `VisionTransformer.init_parameters` sets nothing, so the
    /// tower keeps PyTorch's module defaults: conv1 and Linear weights U(±1/√fan_in), Linear
    /// biases U(±1/√fan_in), `in_proj_weight` Xavier-uniform, attention biases 0, layer norms
    /// (1, 0); and `class_embedding`, `positional_embedding`, `proj` ~ N(0, C^-½).
    public func initParameters(_ arena: ParameterArena, rng: inout SeededRNG) {
        let scale = 1 / Float(width).squareRoot()
        arena.initNormal(classEmbedding, std: scale, rng: &rng)
        arena.initNormal(positionalEmbedding.weight, std: scale, rng: &rng)
        arena.initNormal(proj, std: scale, rng: &rng)
        arena.initUniform(conv1.weight, bound: 1 / Float(conv1.patchDim).squareRoot(), rng: &rng)
        lnPre.initParameters(arena)
        for b in blocks { b.initPyTorchDefaults(arena, rng: &rng) }
        lnPost.initParameters(arena)
    }

    /// What a forward keeps for the backward, and the backward's scratch, for up to `capacity`
    /// images. Allocate once and reuse. An `inference` cache keeps only what the next layer
    /// needs (two residual-stream buffers and one block cache shared by all blocks); it cannot
    /// serve a backward.
    public final class Cache {
        public let capacity: Int
        public let inference: Bool
        /// Batch of the last `forward`.
        public internal(set) var batch = 0
        let patch: PatchEmbedding.Cache
        /// Class token + patch tokens + positions, ln_pre's input (capacity, T, C).
        let embedded: Tensor
        /// Training: streams[i] is block i's input (capacity, T, C). Inference: one buffer, used
        /// in turn with `embedded`. The last block writes the class tokens to `pooled` directly.
        let streams: [Tensor]
        /// One per block (training) or one shared (inference).
        let blocks: [ResidualAttentionBlock.Cache]
        let lnPre: LayerNorm.Cache
        /// The final class tokens (capacity, C), and ln_post of them (capacity, C).
        let pooled: Tensor
        let pooledNorm: Tensor
        let lnPost: LayerNorm.Cache
        /// Zeros (capacity): the class token's position in each sequence.
        let classPositions: UnsafeMutablePointer<Int>
        /// Backward scratch: the residual stream's gradient (capacity, T, C) and the pooled
        /// tokens' gradient (capacity, C), made at first use.
        lazy var dStream = Tensor(shape: [capacity, embedded.shape[1], embedded.shape[2]])
        lazy var dPooled = Tensor(shape: [capacity, pooled.shape[1]])

        public init(_ tower: VisionTransformer, batch capacity: Int, inference: Bool = false) {
            precondition(capacity > 0, "cache capacity must be positive")
            self.capacity = capacity
            self.inference = inference
            let (t, c) = (tower.tokens, tower.width)
            patch = PatchEmbedding.Cache(tower.conv1, batch: capacity, leadingTokens: 1)
            embedded = Tensor(shape: [capacity, t, c])
            streams = (0..<(inference ? 1 : tower.blocks.count)).map { _ in Tensor(shape: [capacity, t, c]) }
            blocks = (inference ? Array(tower.blocks.prefix(1)) : tower.blocks).map {
                ResidualAttentionBlock.Cache($0, batch: capacity, tokens: t)
            }
            lnPre = LayerNorm.Cache(rows: capacity * t)
            pooled = Tensor(shape: [capacity, c])
            pooledNorm = Tensor(shape: [capacity, c])
            lnPost = LayerNorm.Cache(rows: capacity)
            classPositions = .allocate(capacity: capacity)
            classPositions.initialize(repeating: 0, count: capacity)
        }

        deinit { classPositions.deallocate() }
    }

    /// features (B, E) = tower(images (B, 3, S, S)); fills `cache` for `backward` (unless it is an
    /// inference cache).
    public func forward(_ features: UnsafeMutablePointer<Float>, _ images: UnsafePointer<Float>, batch: Int,
                        cache: Cache, _ arena: ParameterArena) {
        precondition(batch > 0 && batch <= cache.capacity, "batch \(batch) outside 1...\(cache.capacity)")
        cache.batch = batch
        let (t, c) = (tokens, width)
        let rows = batch * t
        // Patch tokens go straight to rows 1…N of each image; row 0 (zero) becomes the class token.
        let x = cache.embedded.data
        Profiler.region("patch_embed") {
            conv1.forward(x, images, batch: batch, cache: cache.patch, arena)
            let cls = arena.value(classEmbedding)
            for b in 0..<batch { (x + b * t * c).update(from: cls, count: c) }
            positionalEmbedding.forward(x, x, batch: batch, arena)
        }
        // The last block computes the class tokens only, straight into `pooled`.
        let last = blocks[blocks.count - 1]
        if cache.inference {
            // ln_pre in place; blocks alternate between `embedded` and the one stream buffer.
            Profiler.region("ln_pre") { lnPre.forward(x, x, rows: rows, cache: cache.lnPre, arena) }
            var (input, output) = (x, cache.streams[0].data)
            for block in blocks.dropLast() {
                Profiler.region("block") { block.forward(output, input, batch: batch, cache: cache.blocks[0], arena) }
                swap(&input, &output)
            }
            Profiler.region("block.last") {
                last.forwardSelected(cache.pooled.data, input, positions: cache.classPositions, batch: batch,
                                     cache: cache.blocks[0], arena)
            }
        } else {
            Profiler.region("ln_pre") { lnPre.forward(cache.streams[0].data, x, rows: rows, cache: cache.lnPre, arena) }
            for (i, block) in blocks.dropLast().enumerated() {
                Profiler.region("block") { block.forward(cache.streams[i + 1].data, cache.streams[i].data, batch: batch, cache: cache.blocks[i], arena) }
            }
            Profiler.region("block.last") {
                last.forwardSelected(cache.pooled.data, cache.streams[blocks.count - 1].data, positions: cache.classPositions,
                                     batch: batch, cache: cache.blocks[blocks.count - 1], arena)
            }
        }
        // features = ln_post(pooled) @ proj
        Profiler.region("ln_post") { lnPost.forward(cache.pooledNorm.data, cache.pooled.data, rows: batch, cache: cache.lnPost, arena) }
        Profiler.region("proj") { Matmul.gemm(features, cache.pooledNorm.data, arena.value(proj), m: batch, n: outputDim, k: c) }
    }

    /// Backward of the last training `forward`, from dFeatures (B, E). ACCUMULATES every
    /// parameter gradient of the tower into the arena (the images get no gradient).
    public func backward(dFeatures: UnsafePointer<Float>, cache: Cache, _ arena: ParameterArena) {
        precondition(!cache.inference, "an inference cache cannot serve a backward")
        let batch = cache.batch
        let (t, c, e) = (tokens, width, outputDim)
        let rows = batch * t
        // features = pooledNorm @ proj
        let dPooled = cache.dPooled.data
        Profiler.region("proj") {
            Matmul.gemm(arena.grad(proj), cache.pooledNorm.data, dFeatures, m: c, n: e, k: batch, transA: true, beta: 1)
            Matmul.gemm(dPooled, dFeatures, arena.value(proj), m: batch, n: c, k: e, transB: true)
        }
        Profiler.region("ln_post") { lnPost.backward(dx: dPooled, dy: dPooled, x: cache.pooled.data, rows: batch, cache: cache.lnPost, arena) }
        let grad = cache.dStream.data, n = blocks.count
        Profiler.region("block.last") { blocks[n - 1].backwardSelected(dx: grad, dy: dPooled, x: cache.streams[n - 1].data, cache: cache.blocks[n - 1], arena) }
        for (i, block) in blocks.dropLast().enumerated().reversed() {
            Profiler.region("block") { block.backward(grad: grad, x: cache.streams[i].data, cache: cache.blocks[i], arena) }
        }
        // ln_pre: its output buffer (streams[0]) is free now and takes d(embedded).
        let dEmbedded = cache.streams[0].data
        Profiler.region("ln_pre") { lnPre.backward(dx: dEmbedded, dy: grad, x: cache.embedded.data, rows: rows, cache: cache.lnPre, arena) }
        Profiler.region("patch_embed") {
            positionalEmbedding.backward(dx: nil, dy: dEmbedded, batch: batch, arena)
            let dCls = arena.grad(classEmbedding)
            for b in 0..<batch {
                let row = dEmbedded + b * t * c
                for j in 0..<c { dCls[j] += row[j] }
            }
            conv1.backward(dImages: nil, dy: dEmbedded, cache: cache.patch, arena)
        }
    }
}

extension ResidualAttentionBlock {
    /// PyTorch's defaults for the block's modules (open_clip's vision tower keeps them):
    /// `in_proj_weight` Xavier-uniform, `in_proj_bias` and `out_proj.bias` 0 (as
    /// `nn.MultiheadAttention` resets them), `out_proj.weight` and the MLP's Linear weights and
    /// biases U(±1/√fan_in), layer norms (1, 0).
    func initPyTorchDefaults(_ arena: ParameterArena, rng: inout SeededRNG) {
        ln1.initParameters(arena)
        ln2.initParameters(arena)
        let c = Float(width)
        arena.initUniform(attn.inProj.weight, bound: (6 / (c + 3 * c)).squareRoot(), rng: &rng)
        arena.initConstant(attn.inProj.bias!, 0)
        arena.initUniform(attn.outProj.weight, bound: 1 / c.squareRoot(), rng: &rng)
        arena.initConstant(attn.outProj.bias!, 0)
        for l in [mlp.cFc, mlp.cProj] {
            let bound = 1 / Float(l.inFeatures).squareRoot()
            arena.initUniform(l.weight, bound: bound, rng: &rng)
            arena.initUniform(l.bias!, bound: bound, rng: &rng)
        }
    }
}

extension ParameterArena {
    /// Fills `p` with uniform deviates in [−bound, bound) from `rng`.
    func initUniform(_ p: Param, bound: Float, rng: inout SeededRNG) {
        let v = value(p)
        for i in 0..<p.count { v[i] = (2 * rng.nextFloat() - 1) * bound }
    }
}
