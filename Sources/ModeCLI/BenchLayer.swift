import ArgumentParser
import MoDE
import Foundation

struct BenchLayer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "layer",
        abstract: "Forward and backward time of each layer at a CLIP config's vision-tower shape; one JSON line per layer.",
        discussion: """
        Shapes: batch (default: 256 for tiny/small, 16 otherwise) × the vision tower's tokens × its width.
        gflops counts the nominal floating-point operations of forward + backward (GEMMs and
        attention products; 8 per element for layer norm) over their measured median time.
        """)

    @Option(help: "Model config: a preset (\(CLIPConfig.presetNames.joined(separator: ", "))) or an open_clip JSON file.")
    var config = "tiny"
    @Option(help: "Layer: all, linear, layernorm, mlp, attention, block, text_block, patch_embed.")
    var layer = "all"
    @Option(help: "Batch size (images).") var batch: Int?
    @Option(help: "Timed repetitions (after one warm-up).") var steps = 10
    @OptionGroup var options: BenchOptions

    static let layers = ["linear", "layernorm", "mlp", "attention", "block", "text_block", "patch_embed"]

    func validate() throws {
        guard layer == "all" || Self.layers.contains(layer) else {
            throw ValidationError("unknown --layer \(layer); choose all or one of \(Self.layers.joined(separator: ", "))")
        }
        guard steps > 0 else { throw ValidationError("--steps must be positive") }
        if let batch, batch <= 0 { throw ValidationError("--batch must be positive") }
    }

    func run() throws {
        let blas = try options.setUp()
        let cfg = try CLIPConfig.load(config)
        let b = batch ?? (cfg.vision.imageSize <= 64 ? 256 : 16)
        for name in layer == "all" ? Self.layers : [layer] {
            var r = try measure(name, cfg: cfg, batch: b)
            r["blas"] = blas.backend.rawValue
            r["threads"] = blas.threads
            r["config"] = config
            try printJSONLine(r)
        }
    }

    /// Median seconds of `body` over `steps` runs after one warm-up.
    func time(_ body: () -> Void) -> Double {
        body()
        var t: [Double] = []
        for _ in 0..<steps {
            let s = DispatchTime.now().uptimeNanoseconds
            body()
            t.append(seconds(since: s))
        }
        return t.sorted()[t.count / 2]
    }

    func measure(_ name: String, cfg: CLIPConfig, batch: Int) throws -> [String: Any] {
        let text = name == "text_block"
        let T = text ? cfg.text.contextLength : cfg.vision.tokens
        let C = text ? cfg.text.width : cfg.vision.width
        let H = text ? cfg.text.heads : cfg.vision.heads
        let hidden = text ? cfg.text.mlpWidth : cfg.vision.mlpWidth
        let rows = batch * T
        let builder = ParameterBuilder()
        let scope = builder.scoped("")
        var rng = SeededRNG(seed: 0)
        var fwd: () -> Void = {}
        var bwd: () -> Void = {}
        var flops = 0.0
        let x = Tensor.randn([rows, C], rng: &rng), dy = Tensor.randn([rows, C], rng: &rng)
        let y = Tensor(shape: [rows, C]), dx = Tensor(shape: [rows, C])
        let linearFlops = { (i: Int, o: Int) in 2.0 * Double(rows) * Double(i) * Double(o) }
        let attnFlops = 2.0 * 2 * Double(batch) * Double(H) * Double(T) * Double(T) * Double(C / H)
        var arena: ParameterArena!
        switch name {
        case "linear":
            let l = Linear(scope, in: C, out: C)
            arena = builder.build()
            fwd = { l.forward(y.data, x.data, rows: rows, arena) }
            bwd = { l.backward(dx: dx.data, dy: dy.data, x: x.data, rows: rows, arena) }
            flops = 3 * linearFlops(C, C)
        case "layernorm":
            let l = LayerNorm(scope, dim: C)
            arena = builder.build()
            l.initParameters(arena)
            let cache = LayerNorm.Cache(rows: rows)
            fwd = { l.forward(y.data, x.data, rows: rows, cache: cache, arena) }
            bwd = { l.backward(dx: dx.data, dy: dy.data, x: x.data, rows: rows, cache: cache, arena) }
            flops = 20 * Double(rows * C)
        case "mlp":
            let l = MLP(scope, width: C, hidden: hidden, activation: cfg.quickGELU ? .quickGELU : .gelu)
            arena = builder.build()
            let cache = l.makeCache(rows: rows)
            fwd = { l.forward(y.data, x.data, rows: rows, cache: cache, arena) }
            bwd = { l.backward(dx: dx.data, dy: dy.data, x: x.data, rows: rows, cache: cache, arena) }
            flops = 3 * 2 * linearFlops(C, hidden)
        case "attention":
            let l = MultiheadAttention(scope, width: C, heads: H)
            arena = builder.build()
            let cache = MultiheadAttention.Cache(l, batch: batch, tokens: T)
            fwd = { l.forward(y.data, x.data, batch: batch, cache: cache, arena) }
            bwd = { l.backward(dx: dx.data, dy: dy.data, x: x.data, cache: cache, arena) }
            flops = 3 * (linearFlops(C, 3 * C) + linearFlops(C, C) + attnFlops)
        case "block", "text_block":
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
        case "patch_embed":
            let S = cfg.vision.imageSize, P = cfg.vision.patchSize, N = cfg.vision.gridSize * cfg.vision.gridSize
            let l = PatchEmbedding(scope, width: C, patchSize: P, imageSize: S)
            arena = builder.build()
            let images = Tensor.randn([batch, 3, S, S], rng: &rng)
            let out = Tensor(shape: [batch * N, C]), d = Tensor.randn([batch * N, C], rng: &rng)
            let cache = PatchEmbedding.Cache(l, batch: batch)
            fwd = { l.forward(out.data, images.data, batch: batch, cache: cache, arena) }
            bwd = { l.backward(dImages: nil, dy: d.data, cache: cache, arena) }
            flops = 2 * 2.0 * Double(batch * N) * Double(3 * P * P) * Double(C)
        default:
            throw ValidationError("unknown layer \(name)")
        }
        for p in arena.params where arena.specs[p.index].name.hasSuffix("weight") {
            arena.initNormal(p, std: 0.02, rng: &rng)
        }
        let tf = time(fwd)
        let tb = time(bwd)
        return ["bench": "layer", "layer": name, "batch": batch, "tokens": T, "width": C, "heads": H,
                "forward_ms": rounded(tf * 1e3, 3), "backward_ms": rounded(tb * 1e3, 3),
                "gflops": rounded(flops / (tf + tb) / 1e9, 1)]
    }
}
