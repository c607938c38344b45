import Foundation
import MoDEModels
import MoDENN
import MoDETensor
import TestSupport
import Testing
import MoDEFormats

/// The CLIP model against open_clip, from tools/clip_fixtures.py (references computed in float64
/// from the same float32 weights and inputs, so the tolerances measure only our float32 rounding).
@Suite struct CLIPParityTests {
    struct Case {
        let file: SafeTensorsFile
        let model: CLIPModel
        let images: Tensor
        let texts: [Int32]
        let batch: Int

        init(_ name: String) throws {
            file = try fixture(name)
            model = try fixtureModel(file)
            batch = Int(file.metadata["batch"] ?? "") ?? 0
            let s = model.config.vision.imageSize
            images = FixtureValues.tensor("images", shape: [batch, 3, s, s], scale: 1)
            texts = try file.int32s("texts")
        }
    }

    @Test func tinyFeaturesLossAndEveryGradient() throws {
        let c = try Case("clip_tiny")
        let (b, e) = (c.batch, c.model.embedDim)
        let result = c.texts.withUnsafeBufferPointer {
            c.model.forwardBackward(images: c.images.data, texts: $0.baseAddress!, batch: b)
        }
        let features = try #require(c.model.lastTrainingFeatures)
        // Features pass 2 pre-LN blocks of width 128 in float32: rel 1e-5 leaves ~50× headroom.
        expectClose(features.image, try c.file.tensor("image_features"), relTol: 1e-5, "tiny image features")
        expectClose(features.text, try c.file.tensor("text_features"), relTol: 1e-5, "tiny text features")
        #expect(c.model.config.embedDim == e && b == 4)
        // Loss and gradients: float32 sums over the batch and the 4 × 4 logits; rel 1e-4.
        expectClose([result], try c.file.tensor("loss"), relTol: 1e-4, "tiny loss")
        for (p, spec) in zip(c.model.arena.params, c.model.arena.specs) {
            expectClose(c.model.arena.grad(p), try c.file.tensor("grad." + spec.name), relTol: 1e-4, "grad \(spec.name)")
        }
    }

    @Test func tinyFiveTrainingStepsMatchOpenCLIPsLoop() throws {
        let c = try Case("clip_tiny")
        let model = c.model
        let lrs = try c.file.tensor("adamw.lr"), losses = try c.file.tensor("adamw.loss")
        let scales = try c.file.tensor("adamw.logit_scale")
        let schedule = CosineSchedule(baseLR: 2e-4, warmup: 2, totalSteps: 5)
        let optimizer = AdamW(model.arena, beta1: 0.9, beta2: 0.98, eps: 1e-6, weightDecay: 0.2)
        var seen: [Float] = [], seenScales: [Float] = []
        c.texts.withUnsafeBufferPointer { ids in
            for step in 0..<5 {
                // The schedule's values: float32 of open_clip's float64 cosine_lr, rel 1e-6.
                expectClose([schedule.lr(at: step)], Tensor(shape: [1], values: [lrs[step]]), relTol: 1e-6, "lr \(step)")
                seen.append(model.forwardBackward(images: c.images.data, texts: ids.baseAddress!, batch: c.batch))
                clipGradNorm(model.arena, maxNorm: 1)
                optimizer.update(lr: schedule.lr(at: step))
                model.clampLogitScale()
                seenScales.append(model.logitScaleValue)
            }
            seen.append(model.forwardBackward(images: c.images.data, texts: ids.baseAddress!, batch: c.batch))
        }
        // Five float32 AdamW steps against float64 ones: rel 1e-4 on each loss.
        expectClose(seen, losses, relTol: 1e-4, "losses along five steps")
        // logit_scale starts above ln 100: the first clamp sets it to ln 100 exactly; then float32 steps, rel 1e-6.
        #expect(seenScales[0] == CLIPModel.maxLogitScale)
        expectClose(seenScales, scales, relTol: 1e-6, "logit_scale after each clamp")
    }

    @Test func b16ShapedFeaturesAndLoss() throws {
        let c = try Case("clip_b16_shaped")
        let (b, e) = (c.batch, c.model.embedDim)
        let img = Tensor(shape: [b, e]), txt = Tensor(shape: [b, e])
        c.model.encodeImage(img.data, c.images.data, batch: b)
        c.texts.withUnsafeBufferPointer { c.model.encodeText(txt.data, $0.baseAddress!, batch: b) }
        // 768-wide tokens, 197 of them, 12 heads: float32 dot products of length 768–3072; rel 1e-4.
        expectClose(img, try c.file.tensor("image_features"), relTol: 1e-4, "b16-shaped image features")
        expectClose(txt, try c.file.tensor("text_features"), relTol: 1e-4, "b16-shaped text features")
        let cache = ContrastiveLoss.Cache(batch: b, dim: e)
        let loss = ContrastiveLoss.forward(img.data, txt.data, logitScale: c.model.logitScaleValue, batch: b, cache: cache)
        expectClose([loss], try c.file.tensor("loss"), relTol: 1e-4, "b16-shaped loss")
    }
}
