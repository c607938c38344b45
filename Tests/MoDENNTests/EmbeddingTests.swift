import Testing
import MoDETensor
import TestSupport
@testable import MoDENN

@Suite struct EmbeddingTests {
    private func makeEmbedding(vocabulary: Int, width: Int, seed: UInt64) -> (Embedding, ParameterArena) {
        let builder = ParameterBuilder()
        let layer = Embedding(builder.scoped("token_embedding"), vocabulary: vocabulary, width: width)
        let arena = builder.build()
        var rng = SeededRNG(seed: seed)
        arena.initNormal(layer.weight, std: 1, rng: &rng)
        return (layer, arena)
    }

    @Test func gathersRowsAndScatterAddsGradients() {
        let (layer, arena) = makeEmbedding(vocabulary: 7, width: 5, seed: 1)
        #expect(arena.specs.map(\.name) == ["token_embedding.weight"] && layer.weight.shape == [7, 5])
        let ids: [Int32] = [3, 0, 6, 3, 3, 1] // (B, T) = (2, 3), id 3 repeated
        let y = Tensor(shape: [2, 3, 5], repeating: .nan)
        layer.forward(y.data, ids: ids, count: 6, arena)
        let w = arena.value(layer.weight)
        for i in 0..<6 {
            for c in 0..<5 { #expect(y[i * 5 + c] == w[Int(ids[i]) * 5 + c]) } // a copy: exact
        }
        var rng = SeededRNG(seed: 2)
        let dy = Tensor.randn([2, 3, 5], rng: &rng)
        arena.zeroGrad()
        layer.backward(dy: dy.data, ids: ids, count: 6, arena)
        let g = arena.grad(layer.weight)
        for v in 0..<7 {
            for c in 0..<5 {
                var expected: Float = 0 // summed in id order, as the layer does: exact
                for i in 0..<6 where Int(ids[i]) == v { expected += dy[i * 5 + c] }
                #expect(g[v * 5 + c] == expected, "row \(v) col \(c)")
            }
        }
    }

    @Test func gradientMatchesFiniteDifferences() {
        let (layer, arena) = makeEmbedding(vocabulary: 6, width: 3, seed: 3)
        let ids: [Int32] = [5, 2, 2, 0]
        var rng = SeededRNG(seed: 4)
        let w = Tensor.randn([4, 3], rng: &rng)
        arena.zeroGrad()
        layer.backward(dy: w.data, ids: ids, count: 4, arena)
        let loss = {
            let y = Tensor(shape: [4, 3])
            layer.forward(y.data, ids: ids, count: 4, arena)
            return LayerCheck.weightedSum(y, w)
        }
        // The loss is linear in the table: central differences are exact up to Float rounding of
        // the perturbed entries (~1e-7 relative to eps, times the few summed terms).
        expectClose(arena.grad(layer.weight), LayerCheck.numericGradient(arena.value(layer.weight), count: 18, loss), relTol: 1e-5, "dW")
    }

    @Test func rejectsIdsOutsideTheVocabulary() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let builder = ParameterBuilder()
            let layer = Embedding(builder.scoped("e"), vocabulary: 4, width: 2)
            let arena = builder.build()
            let y = Tensor(shape: [2, 2])
            layer.forward(y.data, ids: [1, 4], count: 2, arena)
        }
        let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("id 4 at position 1 is outside the vocabulary 0..<4"), "\(message)")
        await #expect(processExitsWith: .failure) {
            let builder = ParameterBuilder()
            let layer = Embedding(builder.scoped("e"), vocabulary: 4, width: 2)
            let arena = builder.build()
            let y = Tensor(shape: [1, 2])
            layer.backward(dy: y.data, ids: [-1], count: 1, arena)
        }
    }
}

@Suite struct PositionalEmbeddingTests {
    @Test func addsTableAndSumsGradientOverBatch() {
        let builder = ParameterBuilder()
        let layer = PositionalEmbedding(builder.scoped("visual"), tokens: 3, width: 2)
        let arena = builder.build()
        #expect(arena.specs.map(\.name) == ["visual.positional_embedding"] && layer.weight.shape == [3, 2])
        var rng = SeededRNG(seed: 5)
        arena.initNormal(layer.weight, std: 1, rng: &rng)
        let x = Tensor.randn([4, 3, 2], rng: &rng)
        let y = Tensor(shape: x.shape, repeating: .nan)
        layer.forward(y.data, x.data, batch: 4, arena)
        let pos = arena.value(layer.weight)
        for i in 0..<24 { #expect(y[i] == x[i] + pos[i % 6]) } // one Float addition: exact
        // In place gives the same.
        let z = x.copy()
        layer.forward(z.data, z.data, batch: 4, arena)
        #expect(z.array == y.array)

        let w = Tensor.randn([4, 3, 2], rng: &rng)
        let dx = Tensor(shape: x.shape, repeating: .nan)
        arena.zeroGrad()
        layer.backward(dx: dx.data, dy: w.data, batch: 4, arena)
        #expect(dx.array == w.array) // passed through
        let loss = {
            let y = Tensor(shape: [4, 3, 2])
            layer.forward(y.data, x.data, batch: 4, arena)
            return LayerCheck.weightedSum(y, w)
        }
        // Linear in both: exact up to Float rounding of the perturbed values (see Embedding).
        expectClose(arena.grad(layer.weight), LayerCheck.numericGradient(arena.value(layer.weight), count: 6, loss), relTol: 1e-5, "dpos")
        expectClose(dx.data, LayerCheck.numericGradient(x.data, count: 24, loss), relTol: 1e-5, "dx")
        // Accumulating: the parameter gradient doubles, dx gains dy again.
        layer.backward(dx: dx.data, dy: w.data, batch: 4, arena, accumulate: true)
        for i in 0..<24 { #expect(dx[i] == 2 * w[i]) }
        let g = arena.grad(layer.weight)
        for i in 0..<6 {
            var s: Float = 0
            for b in 0..<4 { s += w[b * 6 + i] }
            #expect(abs(g[i] - 2 * s) <= 1e-6 * (1 + abs(s))) // 4 Float additions per pass
        }
    }
}

@Suite struct PatchEmbeddingTests {
    private struct Setup {
        let layer: PatchEmbedding
        let arena: ParameterArena
        let cache: PatchEmbedding.Cache
        init(width: Int, patch: Int, height: Int, imageWidth: Int, batch: Int, seed: UInt64) {
            let builder = ParameterBuilder()
            layer = PatchEmbedding(builder.scoped("conv1"), width: width, patchSize: patch, imageHeight: height,
                                   imageWidth: imageWidth)
            arena = builder.build()
            var rng = SeededRNG(seed: seed)
            arena.initNormal(layer.weight, std: 0.5, rng: &rng)
            cache = PatchEmbedding.Cache(layer, batch: batch)
        }
        func forward(_ images: Tensor, batch: Int) -> Tensor {
            let y = Tensor(shape: [batch, layer.patches, layer.width], repeating: .nan)
            layer.forward(y.data, images.data, batch: batch, cache: cache, arena)
            return y
        }
    }

    @Test func matchesDirectConvolution() {
        // 7×9 images with P = 3: a 2×3 grid; the last image row lies outside every patch, as in the convolution.
        let s = Setup(width: 4, patch: 3, height: 7, imageWidth: 9, batch: 2, seed: 6)
        #expect(s.arena.specs.map(\.name) == ["conv1.weight"] && s.layer.weight.shape == [4, 3, 3, 3])
        var rng = SeededRNG(seed: 7)
        let images = Tensor.randn([2, 3, 7, 9], rng: &rng)
        let y = s.forward(images, batch: 2)
        let w = s.arena.value(s.layer.weight)
        for b in 0..<2 {
            for gy in 0..<2 {
                for gx in 0..<3 {
                    for o in 0..<4 {
                        var e = 0.0
                        for c in 0..<3 {
                            for ky in 0..<3 {
                                for kx in 0..<3 {
                                    e += Double(w[((o * 3 + c) * 3 + ky) * 3 + kx])
                                        * Double(images[((b * 3 + c) * 7 + gy * 3 + ky) * 9 + gx * 3 + kx])
                                }
                            }
                        }
                        let got = Double(y[((b * 6) + gy * 3 + gx) * 4 + o])
                        #expect(abs(got - e) <= 1e-5 * (1 + abs(e))) // Float GEMM of 27 terms vs Double
                    }
                }
            }
        }
    }

    @Test func constantImageGivesWeightSums() {
        let s = Setup(width: 5, patch: 2, height: 4, imageWidth: 4, batch: 1, seed: 8)
        let y = s.forward(Tensor(shape: [1, 3, 4, 4], repeating: 0.5), batch: 1)
        let w = s.arena.value(s.layer.weight)
        for o in 0..<5 {
            var sum: Float = 0
            for i in 0..<12 { sum += w[o * 12 + i] }
            // Every patch is the same: 0.5 · Σ W[o]; Float sums of 12 terms in different orders.
            for n in 0..<4 { #expect(abs(y[n * 5 + o] - 0.5 * sum) <= 1e-5 * (1 + abs(sum))) }
        }
    }

    @Test func foldIsTheAdjointOfUnfold() {
        // ⟨unfold(x), p⟩ = ⟨x, fold(p)⟩, with 7×10 images and P = 3 leaving a border unused.
        let s = Setup(width: 2, patch: 3, height: 7, imageWidth: 10, batch: 2, seed: 9)
        var rng = SeededRNG(seed: 10)
        let x = Tensor.randn([2, 3, 7, 10], rng: &rng)
        let p = Tensor.randn([2 * s.layer.patches, s.layer.patchDim], rng: &rng)
        let ux = Tensor(shape: p.shape), fp = Tensor(shape: x.shape, repeating: .nan)
        s.layer.unfold(ux.data, x.data, batch: 2)
        s.layer.fold(fp.data, p.data, batch: 2)
        var lhs = 0.0, rhs = 0.0
        for i in 0..<p.count { lhs += Double(ux[i]) * Double(p[i]) }
        for i in 0..<x.count { rhs += Double(x[i]) * Double(fp[i]) }
        #expect(abs(lhs - rhs) <= 1e-9 * (1 + abs(lhs))) // the same products, summed in Double
        // Pixels in the unused border (row 6, column 9) get zero gradient.
        for b in 0..<2 {
            for c in 0..<3 {
                for col in 0..<10 { #expect(fp[((b * 3 + c) * 7 + 6) * 10 + col] == 0) }
                for row in 0..<7 { #expect(fp[((b * 3 + c) * 7 + row) * 10 + 9] == 0) }
            }
        }
    }

    @Test func gradientsMatchFiniteDifferences() {
        let s = Setup(width: 3, patch: 2, height: 5, imageWidth: 4, batch: 2, seed: 11)
        var rng = SeededRNG(seed: 12)
        let images = Tensor.randn([2, 3, 5, 4], rng: &rng)
        let w = Tensor.randn([2, s.layer.patches, 3], rng: &rng)
        _ = s.forward(images, batch: 2)
        let dImages = Tensor(shape: images.shape, repeating: .nan)
        s.arena.zeroGrad()
        s.layer.backward(dImages: dImages.data, dy: w.data, cache: s.cache, s.arena)
        let loss = { LayerCheck.weightedSum(s.forward(images, batch: 2), w) }
        // Bilinear: central differences have no truncation error; Float rounding of the forward
        // (12-term sums, ~1e-7 relative) over eps = 1e-2 leaves ~1e-5.
        let g = s.layer.weight
        expectClose(s.arena.grad(g), LayerCheck.numericGradient(s.arena.value(g), count: g.count, loss), relTol: 1e-4, "dW")
        expectClose(dImages.data, LayerCheck.numericGradient(images.data, count: images.count, loss), relTol: 1e-4, "dImages")
        // Accumulating into dImages adds the same gradient again.
        let once = dImages.copy()
        s.layer.backward(dImages: dImages.data, dy: w.data, cache: s.cache, s.arena, accumulate: true)
        for i in 0..<once.count { #expect(dImages[i] == 2 * once[i]) } // x + x is exact
    }
}
