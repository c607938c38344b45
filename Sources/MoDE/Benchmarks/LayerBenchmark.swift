import MoDEModels
import MoDENN
import MoDETensor

/// A layer `Benchmarks.layers` can time.
public enum BenchLayerKind: String, CaseIterable, Codable, Sendable {
    case linear, layernorm, mlp, attention, block
    /// A causal block at the text tower's shape.
    case textBlock = "text_block"
    case patchEmbed = "patch_embed"
}

/// What `Benchmarks.layers` times.
public struct BenchLayerOptions: Sendable, Equatable {
    /// A preset name or an open_clip JSON file (`CLIPConfig.load`).
    public var config = "tiny"
    /// The layer to time; nil: all of them, in `BenchLayerKind.allCases` order.
    public var layer: BenchLayerKind?
    /// Batch size (images); nil: 256 for image sizes up to 64 (tiny, small), else 16.
    public var batch: Int?
    /// Timed repetitions (after one warm-up).
    public var steps = 10

    public static let `default` = BenchLayerOptions()

    public init() {}

    public func validate() throws {
        guard steps > 0 else { throw BenchmarkError("--steps must be positive") }
        if let batch, batch <= 0 { throw BenchmarkError("--batch must be positive") }
    }

    /// The layers to time.
    public var layers: [BenchLayerKind] { layer.map { [$0] } ?? BenchLayerKind.allCases }

    /// The batch size used with `config`.
    public func batchSize(_ config: CLIPConfig) -> Int { batch ?? (config.vision.imageSize <= 64 ? 256 : 16) }
}

/// Forward and backward time of one layer (`mode bench layer`, one line per layer).
public struct BenchLayerResult: Codable, Sendable, Equatable {
    public var bench = "layer"
    public var layer: BenchLayerKind
    public var config: String
    public var batch: Int
    /// Tokens per sequence and width of the tower the layer belongs to.
    public var tokens: Int
    public var width: Int
    public var heads: Int
    public var blas: String
    public var threads: Int
    /// Median times over the repetitions.
    public var forwardMs: Double
    public var backwardMs: Double
    /// Nominal floating-point operations of forward + backward over the sum of the median times.
    public var gflops: Double

    enum CodingKeys: String, CodingKey {
        case bench, layer, config, batch, tokens, width, heads, blas, threads, gflops
        case forwardMs = "forward_ms", backwardMs = "backward_ms"
    }
}

extension Benchmarks {
    /// Times the forward and backward passes of each selected layer at the shape of a CLIP
    /// config's vision tower (the text tower's for `textBlock`): rows = batch × tokens, with normal
    /// random inputs and weights (std 0.02). `each` receives every result as soon as it is measured.
    @discardableResult
    public static func layers(_ options: BenchLayerOptions, blas: BLASInfo,
                              each: (BenchLayerResult) throws -> Void = { _ in }) throws -> [BenchLayerResult] {
        try options.validate()
        let cfg = try CLIPConfig.load(options.config)
        let batch = options.batchSize(cfg)
        var results: [BenchLayerResult] = []
        for kind in options.layers {
            let r = measure(kind, cfg: cfg, batch: batch, steps: options.steps)
            let result = BenchLayerResult(
                layer: kind, config: options.config, batch: batch, tokens: r.tokens, width: r.width, heads: r.heads,
                blas: blas.backend.rawValue, threads: blas.threads,
                forwardMs: rounded(r.forward * 1e3, 3), backwardMs: rounded(r.backward * 1e3, 3),
                gflops: rounded(r.flops / (r.forward + r.backward) / 1e9, 1))
            try each(result)
            results.append(result)
        }
        return results
    }

    /// Median seconds of `body` over `steps` runs after one warm-up.
    private static func medianTime(steps: Int, _ body: () -> Void) -> Double {
        body()
        var t: [Double] = []
        for _ in 0..<steps {
            let s = ProcessClock.now()
            body()
            t.append(ProcessClock.seconds(since: s))
        }
        return t.sorted()[t.count / 2]
    }

    private static func measure(_ kind: BenchLayerKind, cfg: CLIPConfig, batch: Int, steps: Int)
        -> (tokens: Int, width: Int, heads: Int, forward: Double, backward: Double, flops: Double) {
        let text = kind == .textBlock
        let T = text ? cfg.text.contextLength : cfg.vision.tokens
        let C = text ? cfg.text.width : cfg.vision.width
        let H = text ? cfg.text.heads : cfg.vision.heads
        let hidden = text ? cfg.text.mlpWidth : cfg.vision.mlpWidth
        let rows = batch * T
        let builder = ParameterBuilder()
        let scope = builder.scoped("")
        var rng = SeededRNG(seed: 0)
        let fwd: () -> Void
        let bwd: () -> Void
        let flops: Double
        let x = Tensor.randn([rows, C], rng: &rng), dy = Tensor.randn([rows, C], rng: &rng)
        let y = Tensor(shape: [rows, C]), dx = Tensor(shape: [rows, C])
        let linearFlops = { (i: Int, o: Int) in 2.0 * Double(rows) * Double(i) * Double(o) }
        let attnFlops = 2.0 * 2 * Double(batch) * Double(H) * Double(T) * Double(T) * Double(C / H)
        let arena: ParameterArena
        switch kind {
        case .linear:
            let l = Linear(scope, in: C, out: C)
            arena = builder.build()
            fwd = { l.forward(y.data, x.data, rows: rows, arena) }
            bwd = { l.backward(dx: dx.data, dy: dy.data, x: x.data, rows: rows, arena) }
            flops = 3 * linearFlops(C, C)
        case .layernorm:
            let l = LayerNorm(scope, dim: C)
            arena = builder.build()
            l.initParameters(arena)
            let cache = LayerNorm.Cache(rows: rows)
            fwd = { l.forward(y.data, x.data, rows: rows, cache: cache, arena) }
            bwd = { l.backward(dx: dx.data, dy: dy.data, x: x.data, rows: rows, cache: cache, arena) }
            flops = 20 * Double(rows * C)
        case .mlp:
            let l = MLP(scope, width: C, hidden: hidden, activation: cfg.quickGELU ? .quickGELU : .gelu)
            arena = builder.build()
            let cache = l.makeCache(rows: rows)
            fwd = { l.forward(y.data, x.data, rows: rows, cache: cache, arena) }
            bwd = { l.backward(dx: dx.data, dy: dy.data, x: x.data, rows: rows, cache: cache, arena) }
            flops = 3 * 2 * linearFlops(C, hidden)
        case .attention:
            let l = MultiheadAttention(scope, width: C, heads: H)
            arena = builder.build()
            let cache = MultiheadAttention.Cache(l, batch: batch, tokens: T)
            fwd = { l.forward(y.data, x.data, batch: batch, cache: cache, arena) }
            bwd = { l.backward(dx: dx.data, dy: dy.data, x: x.data, cache: cache, arena) }
            flops = 3 * (linearFlops(C, 3 * C) + linearFlops(C, C) + attnFlops)
        case .block, .textBlock:
            let l = ResidualAttentionBlock(scope, width: C, heads: H, mlpWidth: hidden,
                                           activation: cfg.quickGELU ? .quickGELU : .gelu, causal: text)
            arena = builder.build()
            let cache = ResidualAttentionBlock.Cache(l, batch: batch, tokens: T)
            fwd = { l.forward(y.data, x.data, batch: batch, cache: cache, arena) }
            bwd = {
                dx.data.update(from: dy.data, count: dy.count)
                l.backward(grad: dx.data, x: x.data, cache: cache, arena)
            }
            flops = 3 * (linearFlops(C, 3 * C) + linearFlops(C, C) + attnFlops + 2 * linearFlops(C, hidden))
        case .patchEmbed:
            let S = cfg.vision.imageSize, P = cfg.vision.patchSize, N = cfg.vision.gridSize * cfg.vision.gridSize
            let l = PatchEmbedding(scope, width: C, patchSize: P, imageSize: S)
            arena = builder.build()
            let images = Tensor.randn([batch, 3, S, S], rng: &rng)
            let out = Tensor(shape: [batch * N, C]), d = Tensor.randn([batch * N, C], rng: &rng)
            let cache = PatchEmbedding.Cache(l, batch: batch)
            fwd = { l.forward(out.data, images.data, batch: batch, cache: cache, arena) }
            bwd = { l.backward(dImages: nil, dy: d.data, cache: cache, arena) }
            flops = 2 * 2.0 * Double(batch * N) * Double(3 * P * P) * Double(C)
        }
        for p in arena.params where arena.specs[p.index].name.hasSuffix("weight") {
            arena.initNormal(p, std: 0.02, rng: &rng)
        }
        let tf = medianTime(steps: steps, fwd)
        let tb = medianTime(steps: steps, bwd)
        return (T, C, H, tf, tb, flops)
    }
}
