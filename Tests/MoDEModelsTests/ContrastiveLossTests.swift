import Foundation
import MoDEModels
import MoDETensor
import TestSupport
import Testing

@Suite struct ContrastiveLossTests {
    static func features(_ b: Int, _ e: Int, seed: UInt64) -> (Tensor, Tensor) {
        var rng = SeededRNG(seed: seed)
        return (Tensor.randn([b, e], rng: &rng), Tensor.randn([b, e], rng: &rng))
    }

    @Test func kernelsMatchTheDoubleReference() {
        let (b, e) = (5, 7)
        let (img, txt) = Self.features(b, e, seed: 1)
        let scale: Float = 2.3
        let cache = ContrastiveLoss.Cache(batch: 8, dim: e)
        let loss = ContrastiveLoss.forward(img.data, txt.data, logitScale: scale, batch: b, cache: cache)
        let dImg = Tensor(shape: [b, e]), dTxt = Tensor(shape: [b, e])
        let dScale = ContrastiveLoss.backward(dImage: dImg.data, dText: dTxt.data, cache: cache)
        let ref = ContrastiveLoss.reference(image: img.array.map(Double.init), text: txt.array.map(Double.init),
                                            logitScale: Double(scale), batch: b, dim: e)
        // float32 kernels against Double, values of size ~1 through a few roundings: rel 1e-5.
        expectClose([loss], Tensor(shape: [1], values: [Float(ref.loss)]), relTol: 1e-5, "loss")
        expectClose(dImg, Tensor(shape: [b, e], values: ref.dImage.map(Float.init)), relTol: 1e-5, "d image")
        expectClose(dTxt, Tensor(shape: [b, e], values: ref.dText.map(Float.init)), relTol: 1e-5, "d text")
        expectClose([dScale], Tensor(shape: [1], values: [Float(ref.dLogitScale)]), relTol: 1e-5, "d logit_scale")
    }

    @Test func referenceGradientsMatchFiniteDifferences() {
        let (b, e) = (3, 4)
        let (img32, txt32) = Self.features(b, e, seed: 2)
        let img = img32.array.map(Double.init), txt = txt32.array.map(Double.init)
        let s = 1.7
        let ref = ContrastiveLoss.reference(image: img, text: txt, logitScale: s, batch: b, dim: e)
        let h = 1e-6
        func loss(_ i: [Double], _ t: [Double], _ ls: Double) -> Double {
            ContrastiveLoss.reference(image: i, text: t, logitScale: ls, batch: b, dim: e).loss
        }
        // Central differences in Double: truncation and rounding ~1e-9 against gradients of ~0.1.
        for k in 0..<(b * e) {
            var up = img, down = img
            up[k] += h; down[k] -= h
            #expect(abs((loss(up, txt, s) - loss(down, txt, s)) / (2 * h) - ref.dImage[k]) < 1e-7, "d image \(k)")
            up = txt; down = txt
            up[k] += h; down[k] -= h
            #expect(abs((loss(img, up, s) - loss(img, down, s)) / (2 * h) - ref.dText[k]) < 1e-7, "d text \(k)")
        }
        #expect(abs((loss(img, txt, s + h) - loss(img, txt, s - h)) / (2 * h) - ref.dLogitScale) < 1e-7)
    }

    @Test func perfectlyMatchedPairsHaveNearZeroLossAndMatchedScalingDoesNotMatter() {
        // Orthogonal pairs (image i = text i = e_i), scaled differently: logits = 100 on the
        // diagonal and 0 elsewhere, so the loss is log(1 + 3e^-100) ≈ 0 and independent of the norms.
        let (b, e) = (4, 4)
        let img = Tensor(shape: [b, e]), txt = Tensor(shape: [b, e])
        for i in 0..<b { img[i * e + i] = Float(i + 1); txt[i * e + i] = 0.5 }
        let cache = ContrastiveLoss.Cache(batch: b, dim: e)
        let loss = ContrastiveLoss.forward(img.data, txt.data, logitScale: Float(log(100.0)), batch: b, cache: cache)
        #expect(loss >= 0 && loss < 1e-30)
        #expect(abs(cache.scale - 100) < 1e-4)
    }
}
