import Foundation
import MoDEModels
import MoDENN
import MoDETensor
import TestSupport
import Testing

/// A small model for invariant tests: 2 blocks per tower, GELU.
func smallModel(seed: UInt64 = 1, quickGELU: Bool = false) -> CLIPModel {
    let config = CLIPConfig(embedDim: 8, vision: .init(imageSize: 8, patchSize: 4, width: 16, layers: 2, headWidth: 8),
                            text: .init(contextLength: 6, vocabSize: 40, width: 16, heads: 2, layers: 2), quickGELU: quickGELU)
    return CLIPModel(config: config, seed: seed)
}

/// Token rows (B, L): start 38, words, end 39 (the largest id) at `eot[b]`, zeros after.
func tokenRows(_ eot: [Int], length: Int, rng: inout SeededRNG) -> [Int32] {
    var ids = [Int32](repeating: 0, count: eot.count * length)
    for (b, e) in eot.enumerated() {
        ids[b * length] = 38
        for t in 1..<e { ids[b * length + t] = Int32(1 + rng.nextInt(36)) }
        ids[b * length + e] = 39
    }
    return ids
}

@Suite struct CLIPModelTests {
    @Test func parameterNamesAreOpenCLIPs() {
        let names = Set(smallModel().arena.specs.map(\.name))
        for n in ["logit_scale", "visual.class_embedding", "visual.positional_embedding", "visual.proj", "visual.conv1.weight",
                  "visual.ln_pre.weight", "visual.ln_post.bias", "visual.transformer.resblocks.1.attn.in_proj_weight",
                  "visual.transformer.resblocks.0.mlp.c_fc.bias", "token_embedding.weight", "positional_embedding",
                  "transformer.resblocks.1.attn.out_proj.weight", "transformer.resblocks.0.ln_2.weight", "ln_final.bias",
                  "text_projection"] {
            #expect(names.contains(n), "\(n)")
        }
        #expect(names.count == 8 + 2 * 12 + 2 * 12 + 5 + 1)  // vision, its blocks, text blocks, text, logit_scale
    }

    @Test func inferenceEncodersMatchTheTrainingForwardAndDoNotDependOnTheBatch() {
        let model = smallModel()
        var rng = SeededRNG(seed: 9)
        let b = 3, e = model.embedDim
        let images = Tensor.randn([b, 3, 8, 8], rng: &rng)
        let ids = tokenRows([2, 5, 3], length: 6, rng: &rng)
        _ = ids.withUnsafeBufferPointer { model.forwardBackward(images: images.data, texts: $0.baseAddress!, batch: b) }
        let trained = model.lastTrainingFeatures!
        let img = Tensor(shape: [b, e]), txt = Tensor(shape: [b, e])
        model.encodeImage(img.data, images.data, batch: b)
        ids.withUnsafeBufferPointer { model.encodeText(txt.data, $0.baseAddress!, batch: b) }
        // Same kernels on the same inputs; only buffer placement differs: rel 1e-6.
        expectClose(trained.image, img, relTol: 1e-6, "image: training vs inference")
        expectClose(trained.text, txt, relTol: 1e-6, "text: training vs inference")
        // One row at a time: BLAS may block the products differently, rel 1e-5.
        let one = Tensor(shape: [1, e])
        model.encodeImage(one.data, images.data + 2 * 3 * 64, batch: 1)
        expectClose(one.data, Tensor(shape: [1, e], values: Array(img.array[(2 * e)...])), relTol: 1e-5, "image row 2 alone")
    }

    @Test func textFeaturesComeFromTheFirstLargestIDAndIgnoreLaterTokens() {
        let model = smallModel()
        var rng = SeededRNG(seed: 4)
        var ids = tokenRows([3, 3, 3], length: 6, rng: &rng)
        for t in 0..<4 { ids[6 + t] = ids[t]; ids[12 + t] = ids[t] }
        // Row 1: other (smaller) ids after the end token; row 2: a second end token later.
        ids[6 + 4] = 7; ids[6 + 5] = 30
        ids[12 + 5] = 39
        let txt = Tensor(shape: [3, model.embedDim])
        ids.withUnsafeBufferPointer { model.encodeText(txt.data, $0.baseAddress!, batch: 3) }
        // The causal mask hides later tokens from the pooled one: equal up to BLAS blocking (rel 1e-6).
        let row0 = Tensor(shape: [1, model.embedDim], values: Array(txt.array[0..<model.embedDim]))
        expectClose(txt.data + model.embedDim, row0, relTol: 1e-6, "later tokens")
        expectClose(txt.data + 2 * model.embedDim, row0, relTol: 1e-6, "second end token")
    }

    @Test func logitScaleClampsToOpenCLIPsRange() {
        let model = smallModel()
        #expect(abs(model.logitScaleValue - Float(log(1 / 0.07))) < 1e-6)
        model.logitScaleValue = 5
        model.clampLogitScale()
        #expect(model.logitScaleValue == CLIPModel.maxLogitScale)
        model.logitScaleValue = -0.5
        model.clampLogitScale()
        #expect(model.logitScaleValue == 0)
    }

    @Test func initialisationFollowsOpenCLIPsDistributions() {
        let config = CLIPConfig(embedDim: 64, vision: .init(imageSize: 16, patchSize: 8, width: 64, layers: 2, headWidth: 32),
                                text: .init(contextLength: 8, vocabSize: 128, width: 64, heads: 2, layers: 2))
        let model = CLIPModel(config: config, seed: 11)
        let c = 64.0
        func stats(_ name: String) -> (mean: Double, std: Double) {
            let t = model.arena.tensor(model.arena.param(name)!)
            let m = t.array.reduce(0.0) { $0 + Double($1) } / Double(t.count)
            let v = t.array.reduce(0.0) { $0 + (Double($1) - m) * (Double($1) - m) } / Double(t.count)
            return (m, v.squareRoot())
        }
        // Expected standard deviations: normals N(0, σ); uniforms U(±a) have σ = a/√3.
        let expected: [(String, Double)] = [
            ("visual.conv1.weight", 1 / (192.0).squareRoot() / 3.0.squareRoot()),
            ("visual.proj", 1 / c.squareRoot()),
            ("visual.transformer.resblocks.0.attn.in_proj_weight", (6 / (4 * c)).squareRoot() / 3.0.squareRoot()),
            ("visual.transformer.resblocks.1.attn.out_proj.weight", 1 / c.squareRoot() / 3.0.squareRoot()),
            ("visual.transformer.resblocks.0.mlp.c_fc.weight", 1 / c.squareRoot() / 3.0.squareRoot()),
            ("visual.transformer.resblocks.0.mlp.c_proj.weight", 1 / (4 * c).squareRoot() / 3.0.squareRoot()),
            ("token_embedding.weight", 0.02),
            ("transformer.resblocks.0.attn.in_proj_weight", 1 / c.squareRoot()),
            ("transformer.resblocks.1.attn.out_proj.weight", 1 / c.squareRoot() / 2),  // (2·layers)^-½ = ½
            ("transformer.resblocks.0.mlp.c_fc.weight", 1 / (2 * c).squareRoot()),
            ("transformer.resblocks.1.mlp.c_proj.weight", 1 / c.squareRoot() / 2),
            ("text_projection", 1 / c.squareRoot()),
        ]
        for (name, sigma) in expected {
            let s = stats(name)
            // ≥ 4096 draws each: the sample σ is within 5% (≈ 4.5 standard errors), the mean within 0.1 σ.
            #expect(abs(s.std / sigma - 1) < 0.05, "\(name): std \(s.std), expected \(sigma)")
            #expect(abs(s.mean) < 0.1 * sigma, "\(name): mean \(s.mean)")
        }
        for name in ["visual.ln_pre.weight", "ln_final.weight", "transformer.resblocks.0.ln_1.weight"] {
            #expect(model.arena.tensor(model.arena.param(name)!).array.allSatisfy { $0 == 1 }, "\(name)")
        }
        for name in ["visual.ln_post.bias", "transformer.resblocks.0.attn.in_proj_bias", "visual.transformer.resblocks.1.attn.out_proj.bias"] {
            #expect(model.arena.tensor(model.arena.param(name)!).array.allSatisfy { $0 == 0 }, "\(name)")
        }
        let bias = model.arena.tensor(model.arena.param("transformer.resblocks.0.mlp.c_proj.bias")!).array
        #expect(bias.allSatisfy { abs($0) <= Float(1 / (4 * c).squareRoot()) } && bias.contains { $0 != 0 })
    }

    @Test func trainingStepsAreRepeatable() {
        var rng = SeededRNG(seed: 2)
        let images = Tensor.randn([4, 3, 8, 8], rng: &rng)
        let ids = tokenRows([2, 5, 3, 4], length: 6, rng: &rng)
        func run() -> [Float] {
            let model = smallModel(seed: 3, quickGELU: true)
            return ids.withUnsafeBufferPointer { p in
                (0..<2).map { _ in
                    let r = model.forwardBackward(images: images.data, texts: p.baseAddress!, batch: 4)
                    // The step before zeroes the gradients: a second call gives the same ones.
                    return r + Float(gradNorm(model.arena))
                }
            }
        }
        let a = run()
        #expect(a[0] == a[1] && a == run())
    }
}
