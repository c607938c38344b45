import Foundation
import MoDENN
import MoDETensor
import MoDEFormats
import MoDETokenizers

/// A BERT encoder for inference (Float32), with Hugging Face's parameter names:
/// `embeddings.{word,position,token_type}_embeddings`, `embeddings.LayerNorm`,
/// `encoder.layer.N.attention.self.{query,key,value}`, `encoder.layer.N.attention.output.{dense,LayerNorm}`,
/// `encoder.layer.N.intermediate.dense`, `encoder.layer.N.output.{dense,LayerNorm}`, and the optional
/// `pooler.dense`. Post-LN blocks, exact-erf GELU, bidirectional attention.
///
/// `encode` runs sequences packed one after another (no padding rows): the projections and the
/// feed-forward are single GEMMs over all tokens of the batch; only attention is per sequence.
public final class BERTModel: @unchecked Sendable {
    public let config: BERTConfig
    public let arena: ParameterArena

    /// The embedding tables and their LayerNorm.
    public struct Embeddings: Sendable {
        public let word: Embedding
        public let position: Embedding
        public let tokenType: Embedding
        public let norm: LayerNorm
    }

    /// One encoder layer.
    public struct Layer: Sendable {
        public let query: Linear
        public let key: Linear
        public let value: Linear
        public let attentionOutput: Linear
        public let attentionNorm: LayerNorm
        public let intermediate: Linear
        public let output: Linear
        public let outputNorm: LayerNorm
    }

    public let embeddings: Embeddings
    public let layers: [Layer]
    /// `pooler.dense` (H, H), when the weights have one.
    public let pooler: Linear?
    /// Per layer: query | key | value weights stacked (3H, H) and biases (3H), for one GEMM.
    private var fusedQKV: [(weight: Tensor, bias: Tensor)] = []

    /// Declares the parameters (zero-filled; load or set them before use).
    public init(config: BERTConfig, pooler hasPooler: Bool) {
        self.config = config
        let b = ParameterBuilder()
        let H = config.hiddenSize, eps = config.layerNormEps
        let e = b.scoped("embeddings")
        embeddings = Embeddings(
            word: Embedding(e.scoped("word_embeddings"), vocabulary: config.vocabSize, width: H),
            position: Embedding(e.scoped("position_embeddings"), vocabulary: config.maxPositions, width: H),
            tokenType: Embedding(e.scoped("token_type_embeddings"), vocabulary: config.typeVocabSize, width: H),
            norm: LayerNorm(e.scoped("LayerNorm"), dim: H, eps: eps))
        layers = (0..<config.layers).map { i in
            let l = b.scoped("encoder.layer.\(i)")
            let a = l.scoped("attention")
            return Layer(
                query: Linear(a.scoped("self.query"), in: H, out: H),
                key: Linear(a.scoped("self.key"), in: H, out: H),
                value: Linear(a.scoped("self.value"), in: H, out: H),
                attentionOutput: Linear(a.scoped("output.dense"), in: H, out: H),
                attentionNorm: LayerNorm(a.scoped("output.LayerNorm"), dim: H, eps: eps),
                intermediate: Linear(l.scoped("intermediate.dense"), in: H, out: config.intermediateSize),
                output: Linear(l.scoped("output.dense"), in: config.intermediateSize, out: H),
                outputNorm: LayerNorm(l.scoped("output.LayerNorm"), dim: H, eps: eps))
        }
        pooler = hasPooler ? Linear(b.scoped("pooler.dense"), in: H, out: H) : nil
        arena = b.build(gradients: false)
        refreshFusedWeights()
    }

    /// Loads `path` (safetensors, F32/F16/BF16) with Hugging Face key names, with or without a
    /// `bert.` prefix (and the legacy `LayerNorm.gamma`/`beta` names). The pooler is loaded when
    /// the file has one. Throws `BERTError` naming the file for missing tensors or shapes that
    /// differ from `config`, and `SafeTensorsError` for a damaged file.
    public static func load(weights path: String, config: BERTConfig) throws -> BERTModel {
        guard FileManager.default.fileExists(atPath: path) else {
            let dir = FilePaths.parent(path)
            let bin = FileManager.default.fileExists(atPath: HFFiles.join(dir, "pytorch_model.bin"))
            throw BERTError(path: path, .missingFile(what: bin ? "model weights (only safetensors is read; this directory has pytorch_model.bin — convert it to model.safetensors)" : "model weights (model.safetensors)"))
        }
        let file = try SafeTensorsFile(path: path)
        let prefix = file.contains("embeddings.word_embeddings.weight") ? ""
            : file.contains("bert.embeddings.word_embeddings.weight") ? "bert." : ""
        let model = BERTModel(config: config, pooler: file.contains(prefix + "pooler.dense.weight"))
        var missing: [String] = []
        for (p, spec) in zip(model.arena.params, model.arena.specs) {
            var name = prefix + spec.name
            if !file.contains(name) {
                let legacy = name.replacingOccurrences(of: "LayerNorm.weight", with: "LayerNorm.gamma")
                    .replacingOccurrences(of: "LayerNorm.bias", with: "LayerNorm.beta")
                if file.contains(legacy) { name = legacy }
            }
            guard let info = file.info(name) else {
                missing.append(name)
                continue
            }
            guard info.shape == spec.shape else {
                if spec.name == "embeddings.word_embeddings.weight" {
                    throw BERTError(path: path, .invalidValue(key: name, reason: "shape \(info.shape) does not match vocab_size \(config.vocabSize) × hidden_size \(config.hiddenSize) of config.json"))
                }
                throw BERTError(path: path, .shapeMismatch(name: name, expected: spec.shape, actual: info.shape))
            }
            guard !info.dtype.isInteger else {
                throw BERTError(path: path, .invalidValue(key: name, reason: "integer dtype \(info.dtype.rawValue) for a weight"))
            }
            try file.read(name, into: model.arena.value(p), shape: spec.shape)
        }
        if !missing.isEmpty {
            throw BERTError(path: path, .missingWeights(names: Array(missing.prefix(4)), count: missing.count))
        }
        model.refreshFusedWeights()
        return model
    }

    /// Rebuilds the stacked query | key | value weights from the arena; call after changing
    /// parameter values directly.
    public func refreshFusedWeights() {
        let H = config.hiddenSize
        fusedQKV = layers.map { l in
            let w = Tensor(shape: [3 * H, H]), b = Tensor(shape: [3 * H])
            for (i, lin) in [l.query, l.key, l.value].enumerated() {
                (w.data + i * H * H).update(from: arena.value(lin.weight), count: H * H)
                (b.data + i * H).update(from: arena.value(lin.bias!), count: H)
            }
            return (w, b)
        }
    }

    /// Buffers for `encode`, grown to the largest batch seen and reused.
    public final class Workspace: @unchecked Sendable {
        public private(set) var capacity = 0
        /// (rows, H) hidden states: the final ones after `encode`.
        public private(set) var x = Tensor(shape: [0])
        var qkv = Tensor(shape: [0]), ctx = Tensor(shape: [0]), h = Tensor(shape: [0]), inter = Tensor(shape: [0])
        var mean = Tensor(shape: [0]), rstd = Tensor(shape: [0])
        public init() {}

        func reserve(rows: Int, _ c: BERTConfig) {
            if rows <= capacity { return }
            let n = max(rows, capacity + capacity / 2)
            let H = c.hiddenSize
            x = Tensor(shape: [n, H])
            qkv = Tensor(shape: [n, 3 * H])
            ctx = Tensor(shape: [n, H])
            h = Tensor(shape: [n, H])
            inter = Tensor(shape: [n, c.intermediateSize])
            mean = Tensor(shape: [n])
            rstd = Tensor(shape: [n])
            capacity = n
        }
    }

    /// Final hidden states (seqs.rows, H) for the packed token `ids` (seqs.rows), each sequence
    /// starting at position 0 with token type 0; returns a pointer into `ws.x`, valid until the
    /// next call with `ws` and while `ws` lives. Ids must be < vocab_size and lengths ≤
    /// max_position_embeddings. With `parallel` false everything runs on the calling thread
    /// (BLAS included when the caller made it single-threaded, as `Matmul.forEachSingleThreaded`
    /// does), so several batches can run side by side.
    @discardableResult
    public func encode(ids: UnsafePointer<Int32>, _ seqs: PackedSequences, workspace ws: Workspace,
                       parallel: Bool = true) -> UnsafeMutablePointer<Float> {
        precondition(seqs.lengths.allSatisfy { $0 <= config.maxPositions }, "a sequence is longer than max_position_embeddings")
        let R = seqs.rows, H = config.hiddenSize, I = config.intermediateSize
        ws.reserve(rows: R, config)
        let x = ws.x.data, qkv = ws.qkv.data, ctx = ws.ctx.data, h = ws.h.data, inter = ws.inter.data
        let a = arena
        func norm(_ ln: LayerNorm, _ y: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>) {
            // The kernel runs inline for blocks below its parallel grain (16K elements).
            let block = parallel ? R : max(1, 8192 / H)
            var r = 0
            while r < R {
                let n = min(block, R - r)
                LayerNormKernel.forward(y + r * H, ws.mean.data + r, ws.rstd.data + r, src + r * H, a.value(ln.weight),
                                        a.value(ln.bias), rows: n, cols: H, eps: ln.eps)
                r += n
            }
        }
        Profiler.region("embed") {
            BERTKernels.embed(x, ids: ids, seqs, word: a.value(embeddings.word.weight), position: a.value(embeddings.position.weight),
                              tokenType: a.value(embeddings.tokenType.weight), width: H, parallel: parallel)
            norm(embeddings.norm, x, x)
        }
        for (l, layer) in layers.enumerated() {
            // qkv (R, 3H) = x · [Wq; Wk; Wv]ᵀ + [bq; bk; bv]
            let fused = fusedQKV[l]
            Profiler.region("attn.qkv") {
                BERTKernels.residualPlusBias(qkv, nil, fused.bias.data, rows: R, cols: 3 * H, parallel: parallel)
                Matmul.gemm(qkv, x, fused.weight.data, m: R, n: 3 * H, k: H, transB: true, beta: 1)
            }
            Profiler.region("attn.core") {
                BERTKernels.attention(ctx, qkv, seqs, heads: config.heads, headDim: config.headSize, parallel: parallel)
            }
            // x = LayerNorm(x + ctx · Woᵀ + bo)
            Profiler.region("attn.out_proj") {
                BERTKernels.residualPlusBias(h, x, a.value(layer.attentionOutput.bias!), rows: R, cols: H, parallel: parallel)
                Matmul.gemm(h, ctx, a.value(layer.attentionOutput.weight), m: R, n: H, k: H, transB: true, beta: 1)
            }
            Profiler.region("ln") { norm(layer.attentionNorm, x, h) }
            // inter (R, I) = GELU(x · W1ᵀ + b1)
            Profiler.region("ffn.in") {
                Matmul.gemm(inter, x, a.value(layer.intermediate.weight), m: R, n: I, k: H, transB: true)
                BERTKernels.biasGELU(inter, a.value(layer.intermediate.bias!), rows: R, cols: I, parallel: parallel)
            }
            // x = LayerNorm(x + inter · W2ᵀ + b2)
            Profiler.region("ffn.out") {
                BERTKernels.residualPlusBias(h, x, a.value(layer.output.bias!), rows: R, cols: H, parallel: parallel)
                Matmul.gemm(h, inter, a.value(layer.output.weight), m: R, n: H, k: I, transB: true, beta: 1)
            }
            Profiler.region("ln") { norm(layer.outputNorm, x, h) }
        }
        return x
    }

    /// out (B, H) = one vector per sequence from the hidden states x (seqs.rows, H) that `encode`
    /// returned: `mode` pooling; `clsPooler` is tanh(pooler.dense([CLS] state)) and needs a pooler.
    public func pool(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ seqs: PackedSequences, mode: BERTPooling,
                     parallel: Bool = true) {
        let H = config.hiddenSize
        if mode == .clsPooler {
            guard let pooler else { preconditionFailure("cls-pooler pooling on a model without pooler weights") }
            let cls = Tensor(shape: [seqs.count, H])
            BERTKernels.pool(cls.data, x, seqs, width: H, mode: .cls, parallel: parallel)
            pooler.forward(out, cls.data, rows: seqs.count, arena)
            BERTKernels.tanh(out, rows: seqs.count, cols: H, parallel: parallel)
        } else {
            BERTKernels.pool(out, x, seqs, width: H, mode: mode, parallel: parallel)
        }
    }
}
