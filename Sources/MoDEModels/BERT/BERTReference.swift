import MoDENN
import MoDETensor
import MoDETokenizers
import RealModule

extension BERTModel {
    /// What `forwardReference` computes.
    public struct ReferenceOutput<T: Real & BinaryFloatingPoint> {
        /// (B, T, H) final hidden states, padding positions included.
        public var hidden: [T]
        /// (B, H) tanh(pooler.dense([CLS])) when the model has a pooler.
        public var pooled: [T]?
    }

    /// Naive forward on a padded `batch` with its attention mask, in precision T, following
    /// Hugging Face's BertModel step by step (separate Q/K/V products, additive key mask, exact
    /// erf GELU). For tests of `encode`; slow.
    public func forwardReference<T: Real & BinaryFloatingPoint>(_ batch: BERTTokenBatch, as _: T.Type = T.self) -> ReferenceOutput<T> {
        let B = batch.count, L = batch.length, H = config.hiddenSize
        let rows = B * L
        func w(_ p: Param) -> [T] { (0..<p.count).map { T(arena.value(p)[$0]) } }
        func linear(_ lin: Linear, _ x: [T], rows: Int) -> [T] {
            let wt = w(lin.weight), b = lin.bias.map(w) ?? [T](repeating: 0, count: lin.outFeatures)
            var y = [T](repeating: 0, count: rows * lin.outFeatures)
            for r in 0..<rows {
                for o in 0..<lin.outFeatures {
                    var s = b[o]
                    for i in 0..<lin.inFeatures { s += x[r * lin.inFeatures + i] * wt[o * lin.inFeatures + i] }
                    y[r * lin.outFeatures + o] = s
                }
            }
            return y
        }
        func layerNorm(_ ln: LayerNorm, _ x: [T]) -> [T] {
            var y = [T](repeating: 0, count: x.count)
            var mean = [T](repeating: 0, count: rows), rstd = [T](repeating: 0, count: rows)
            let g = w(ln.weight), b = w(ln.bias)
            LayerNormKernel.forwardReference(&y, &mean, &rstd, x, g, b, rows: rows, cols: H, eps: T(ln.eps))
            return y
        }
        // Embeddings: word + position + token type.
        let word = w(embeddings.word.weight), pos = w(embeddings.position.weight), type = w(embeddings.tokenType.weight)
        var x = [T](repeating: 0, count: rows * H)
        for b in 0..<B {
            for t in 0..<L {
                let id = Int(batch.ids[b * L + t]), tt = Int(batch.tokenTypeIds[b * L + t])
                for c in 0..<H { x[(b * L + t) * H + c] = word[id * H + c] + pos[t * H + c] + type[tt * H + c] }
            }
        }
        x = layerNorm(embeddings.norm, x)
        for layer in layers {
            let q = linear(layer.query, x, rows: rows), k = linear(layer.key, x, rows: rows), v = linear(layer.value, x, rows: rows)
            var qkv = [T](repeating: 0, count: rows * 3 * H)
            for r in 0..<rows {
                for c in 0..<H {
                    qkv[r * 3 * H + c] = q[r * H + c]
                    qkv[r * 3 * H + H + c] = k[r * H + c]
                    qkv[r * 3 * H + 2 * H + c] = v[r * H + c]
                }
            }
            var ctx = [T](repeating: 0, count: rows * H)
            batch.attentionMask.withUnsafeBufferPointer { mask in
                BERTKernels.attentionReference(&ctx, qkv, mask: mask.baseAddress!, batch: B, tokens: L,
                                               heads: config.heads, headDim: config.headSize)
            }
            var h = linear(layer.attentionOutput, ctx, rows: rows)
            for i in h.indices { h[i] += x[i] }
            x = layerNorm(layer.attentionNorm, h)
            var inter = linear(layer.intermediate, x, rows: rows)
            for i in inter.indices { inter[i] = inter[i] * T(0.5) * (1 + T.erf(inter[i] / T(2).squareRoot())) }
            var o = linear(layer.output, inter, rows: rows)
            for i in o.indices { o[i] += x[i] }
            x = layerNorm(layer.outputNorm, o)
        }
        var pooled: [T]?
        if let pooler {
            var cls = [T](repeating: 0, count: B * H)
            for b in 0..<B { for c in 0..<H { cls[b * H + c] = x[b * L * H + c] } }
            pooled = linear(pooler, cls, rows: B).map { T.tanh($0) }
        }
        return ReferenceOutput(hidden: x, pooled: pooled)
    }
}
