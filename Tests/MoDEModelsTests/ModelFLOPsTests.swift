import MoDEModels
import Testing

/// `ModelFLOPs` against counts done by hand for tiny shapes (2 FLOPs per multiply-add).
@Suite struct ModelFLOPsTests {
    /// Vision: 8×8 images, 4×4 patches (4 patches, T = 5), width 8, 1 layer, MLP 32, E = 4.
    ///   patch embedding 2·4·48·8 = 3072
    ///   block: q|k|v 2·5·8·24 = 1920, q·kᵀ and p·v 2·2·25·8 = 800, out 2·5·8·8 = 640,
    ///          MLP 2·2·5·8·32 = 5120: 8480
    ///   projection 2·8·4 = 64; total 11616
    /// Text: L = 3, width 8, 1 layer, MLP 32: q|k|v 2·3·8·24 = 1152, attention 2·2·9·8 = 288,
    ///   out 2·3·64 = 384, MLP 2·2·3·8·32 = 3072, projection 64: total 4960
    /// Loss, B = 2: 2·2·2·4 = 32. Training step: 3·(2·(11616 + 4960) + 32) = 99552.
    @Test func clip() {
        let cfg = CLIPConfig(embedDim: 4, vision: .init(imageSize: 8, patchSize: 4, width: 8, layers: 1, headWidth: 4),
                             text: .init(contextLength: 3, vocabSize: 10, width: 8, heads: 2, layers: 1))
        #expect(ModelFLOPs.visionForward(cfg.vision, embedDim: 4) == 11616)
        #expect(ModelFLOPs.textForward(cfg.text, embedDim: 4) == 4960)
        #expect(ModelFLOPs.contrastiveLoss(batch: 2, embedDim: 4) == 32)
        #expect(ModelFLOPs.clipTrainingStep(cfg, batch: 2) == 99552)
    }

    /// BERT, hidden 4, feed-forward 8, 2 layers. One layer on 3 tokens: q|k|v 2·3·4·12 = 288,
    /// attention 2·2·9·4 = 144, out 2·3·16 = 96, feed-forward 2·2·3·4·8 = 384: 912; 2 layers ×
    /// 2 sequences: 3648. Lengths 2, 5, 3 in batches of 2, longest first: (5, 3) padded to 5 —
    /// per layer 480 + 400 + 160 + 640 = 1680, × 2 layers × 2 = 6720 — and (2) — per layer
    /// 192 + 64 + 64 + 256 = 576, × 2 layers = 1152: 7872.
    @Test func bert() {
        let cfg = BERTConfig(vocabSize: 10, hiddenSize: 4, layers: 2, heads: 2, intermediateSize: 8)
        #expect(ModelFLOPs.bertForward(cfg, count: 2, length: 3) == 3648)
        #expect(ModelFLOPs.bertEmbedding(cfg, lengths: [2, 5, 3], batchSize: 2) == 7872)
    }
}
