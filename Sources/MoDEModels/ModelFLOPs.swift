/// Nominal model FLOPs: the work as the peer scripts do it, for the model FLOP utilisation
/// (MFU = these FLOPs / time / the machine's fp32 GEMM peak). This is the one place the counts
/// are written.
///
/// Conventions: a multiply-add is 2 FLOPs; only matrix products are counted (layer norms,
/// softmax, activations, biases and embedding lookups are a few per element and left out, as is
/// usual for MFU); "nominal" means the full work the peer computes, with no saving of ours
/// counted: the CLIP text tower over its whole context length with the full T×T attention
/// (causal mask included), the vision tower's last block over every token (ours computes only
/// the class token), and a caption batch padded to its longest caption. A training step is
/// 3 × forward (the backward computes two products for each forward one).
public enum ModelFLOPs {
    /// One pre-LN transformer block on one sequence of `t` tokens of width `c` with MLP width `m`:
    ///     q|k|v projection   2·t·c·3c
    ///     q·kᵀ and p·v       2·(2·t·t·c)     (all heads together: t×t per head, head width c/h)
    ///     output projection  2·t·c·c
    ///     MLP                2·(2·t·c·m)
    public static func transformerBlock(tokens t: Int, width c: Int, mlpWidth m: Int) -> Double {
        let (t, c, m) = (Double(t), Double(c), Double(m))
        return 2 * t * c * 3 * c + 4 * t * t * c + 2 * t * c * c + 4 * t * c * m
    }

    /// open_clip's vision tower on one image: the patch embedding (a P×P×3 → C product per
    /// patch), `layers` blocks over T = patches + 1 tokens, the projection of the class token C → E.
    public static func visionForward(_ v: CLIPConfig.VisionConfig, embedDim e: Int) -> Double {
        let patches = Double(v.gridSize * v.gridSize)
        let patchEmbed = 2 * patches * Double(3 * v.patchSize * v.patchSize) * Double(v.width)
        let blocks = Double(v.layers) * transformerBlock(tokens: v.tokens, width: v.width, mlpWidth: v.mlpWidth)
        return patchEmbed + blocks + 2 * Double(v.width) * Double(e)
    }

    /// open_clip's text tower on one token row: `layers` blocks over the full context length L,
    /// and the projection of the pooled token W → E (the token embedding is a lookup).
    public static func textForward(_ t: CLIPConfig.TextConfig, embedDim e: Int) -> Double {
        Double(t.layers) * transformerBlock(tokens: t.contextLength, width: t.width, mlpWidth: t.mlpWidth)
            + 2 * Double(t.width) * Double(e)
    }

    /// The contrastive loss's forward on a batch of B pairs: the logits image · textᵀ, 2·B·B·E
    /// (the text-to-image logits are its transpose).
    public static func contrastiveLoss(batch b: Int, embedDim e: Int) -> Double {
        2 * Double(b) * Double(b) * Double(e)
    }

    /// One CLIP training step on B pairs: 3 × (B · (vision + text) + loss).
    public static func clipTrainingStep(_ cfg: CLIPConfig, batch b: Int) -> Double {
        let forward = Double(b) * (visionForward(cfg.vision, embedDim: cfg.embedDim) + textForward(cfg.text, embedDim: cfg.embedDim))
            + contrastiveLoss(batch: b, embedDim: cfg.embedDim)
        return 3 * forward
    }

    /// The BERT encoder on one batch of `count` sequences padded to `length` tokens: `layers`
    /// blocks of width H with a feed-forward of width I (q|k|v, the attention, the output
    /// projection and the feed-forward as in `transformerBlock`). Pooling is not counted.
    public static func bertForward(_ cfg: BERTConfig, count: Int, length: Int) -> Double {
        Double(count) * Double(cfg.layers) * transformerBlock(tokens: length, width: cfg.hiddenSize, mlpWidth: cfg.intermediateSize)
    }

    /// The peer's caption embedding (sentence-transformers) of sequences of these token lengths:
    /// longest first, in batches of `batchSize`, each padded to its longest.
    public static func bertEmbedding(_ cfg: BERTConfig, lengths: [Int], batchSize: Int) -> Double {
        let sorted = lengths.sorted(by: >)
        return stride(from: 0, to: sorted.count, by: batchSize).reduce(0.0) { sum, i in
            let n = min(batchSize, sorted.count - i)
            return sum + bertForward(cfg, count: n, length: sorted[i])
        }
    }
}
