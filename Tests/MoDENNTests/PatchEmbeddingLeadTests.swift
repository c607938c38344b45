import MoDENN
import MoDETensor
import TestSupport
import Testing

@Suite struct PatchEmbeddingLeadingTokenTests {
    /// With leading tokens, each image's patch tokens land after `lead` zero rows, and the
    /// weight and image gradients equal those of the plain layout.
    @Test func leadingRowsAreZeroAndGradientsMatchThePlainLayout() {
        let (batch, width, patch, size, lead) = (2, 5, 2, 6, 1)
        let builder = ParameterBuilder()
        let layer = PatchEmbedding(builder.scoped("conv1"), width: width, patchSize: patch, imageSize: size)
        let arena = builder.build()
        var rng = SeededRNG(seed: 3)
        arena.initNormal(layer.weight, std: 0.5, rng: &rng)
        let n = layer.patches, t = lead + n
        let images = Tensor.randn([batch, 3, size, size], rng: &rng)
        let plainCache = PatchEmbedding.Cache(layer, batch: batch)
        let leadCache = PatchEmbedding.Cache(layer, batch: batch, leadingTokens: lead)
        let plain = Tensor(shape: [batch, n, width]), led = Tensor(shape: [batch, t, width], repeating: 7)
        layer.forward(plain.data, images.data, batch: batch, cache: plainCache, arena)
        layer.forward(led.data, images.data, batch: batch, cache: leadCache, arena)
        for b in 0..<batch {
            for j in 0..<width { #expect(led[(b * t) * width + j] == 0) }
            let rows = Array(led.array[((b * t + lead) * width)..<((b + 1) * t * width)])
            #expect(rows == Array(plain.array[(b * n * width)..<((b + 1) * n * width)]))
        }
        // dy: the plain rows, with arbitrary values in the lead rows (they must not contribute).
        let dyPlain = Tensor.randn([batch, n, width], rng: &rng)
        let dyLead = Tensor(shape: [batch, t, width], repeating: 3)
        for b in 0..<batch {
            (dyLead.data + (b * t + lead) * width).update(from: dyPlain.data + b * n * width, count: n * width)
        }
        let dImagesPlain = Tensor(shape: images.shape), dImagesLead = Tensor(shape: images.shape)
        layer.backward(dImages: dImagesPlain.data, dy: dyPlain.data, cache: plainCache, arena)
        let dWPlain = arena.gradTensor(layer.weight)
        arena.zeroGrad()
        layer.backward(dImages: dImagesLead.data, dy: dyLead.data, cache: leadCache, arena)
        // The same products with extra zero terms: rel 1e-6.
        expectClose(arena.gradTensor(layer.weight), dWPlain, relTol: 1e-6, "dW")
        expectClose(dImagesLead, dImagesPlain, relTol: 1e-6, "d images")
    }
}
