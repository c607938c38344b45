import Testing
import MoDETensor
import TestSupport
@testable import MoDENN
import MoDEFormats

/// Layers against PyTorch (tools/nn_fixtures_attention.py): outputs and every gradient, for
/// loss = Σ y ⊙ dy. The fixtures hold float64 results rounded to float32, so the differences are
/// this code's Float32 rounding alone. Tolerances: outputs 1e-5, gradients 1e-4 relative to each
/// tensor's largest element (outputs are short Float sums and products; gradients chain two or
/// three more of them).
@Suite struct AttentionFixtureTests {
    /// Copies every parameter of `arena` from the tensor of the same (state_dict) name in `file`.
    private func load(_ arena: ParameterArena, from file: SafeTensorsFile) throws {
        for (spec, p) in zip(arena.specs, arena.params) { try file.read(spec.name, into: arena.value(p), shape: p.shape) }
    }

    /// Expects each parameter's gradient to match `grad.<name>` in `file`.
    private func expectParameterGradients(_ arena: ParameterArena, _ file: SafeTensorsFile, _ what: String,
                                          sourceLocation: SourceLocation = #_sourceLocation) throws {
        for (spec, p) in zip(arena.specs, arena.params) {
            expectClose(arena.gradTensor(p), try file.tensor("grad." + spec.name), relTol: 1e-4, "\(what) grad.\(spec.name)",
                        sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: ["mha", "mha_causal"])
    func multiheadAttention(name: String) throws {
        let f = try fixture(name)
        let x = try f.tensor("x"), dy = try f.tensor("dy")
        let (batch, tokens, width) = (x.shape[0], x.shape[1], x.shape[2])
        let heads = try #require(f.metadata["heads"].flatMap { Int($0) })
        let builder = ParameterBuilder()
        let layer = MultiheadAttention(builder.scoped(""), width: width, heads: heads, causal: name == "mha_causal")
        let arena = builder.build()
        try load(arena, from: f)
        let cache = MultiheadAttention.Cache(layer, batch: batch, tokens: tokens)
        let y = Tensor(shape: x.shape, repeating: .nan)
        layer.forward(y.data, x.data, batch: batch, cache: cache, arena)
        expectClose(y, try f.tensor("y"), relTol: 1e-5, "\(name) y")
        let dx = Tensor(shape: x.shape, repeating: .nan)
        arena.zeroGrad()
        layer.backward(dx: dx.data, dy: dy.data, x: x.data, cache: cache, arena)
        expectClose(dx, try f.tensor("grad.x"), relTol: 1e-4, "\(name) grad.x")
        try expectParameterGradients(arena, f, name)
    }

    @Test func embedding() throws {
        let f = try fixture("embedding")
        let ids = try f.int32s("ids"), dy = try f.tensor("dy")
        let table = try #require(f.info("weight")).shape
        let builder = ParameterBuilder()
        let layer = Embedding(builder.scoped(""), vocabulary: table[0], width: table[1])
        let arena = builder.build()
        try load(arena, from: f)
        let y = Tensor(shape: dy.shape, repeating: .nan)
        layer.forward(y.data, ids: ids, count: ids.count, arena)
        expectClose(y, try f.tensor("y"), relTol: 0, "embedding y") // a copy: exact
        arena.zeroGrad()
        layer.backward(dy: dy.data, ids: ids, count: ids.count, arena)
        try expectParameterGradients(arena, f, "embedding")
    }

    @Test func positionalEmbedding() throws {
        let f = try fixture("positional_embedding")
        let x = try f.tensor("x"), dy = try f.tensor("dy")
        let builder = ParameterBuilder()
        let layer = PositionalEmbedding(builder.scoped(""), tokens: x.shape[1], width: x.shape[2])
        let arena = builder.build()
        try load(arena, from: f)
        let y = Tensor(shape: x.shape, repeating: .nan)
        layer.forward(y.data, x.data, batch: x.shape[0], arena)
        expectClose(y, try f.tensor("y"), relTol: 1e-7, "positional y") // one rounding of the Double sum
        let dx = Tensor(shape: x.shape, repeating: .nan)
        arena.zeroGrad()
        layer.backward(dx: dx.data, dy: dy.data, batch: x.shape[0], arena)
        expectClose(dx, try f.tensor("grad.x"), relTol: 0, "positional grad.x") // dy itself
        try expectParameterGradients(arena, f, "positional")
    }

    @Test func patchEmbedding() throws {
        let f = try fixture("patch_embedding")
        let images = try f.tensor("images"), dy = try f.tensor("dy")
        let w = try #require(f.info("conv1.weight")).shape // (C, 3, P, P)
        let builder = ParameterBuilder()
        let layer = PatchEmbedding(builder.scoped("conv1"), width: w[0], patchSize: w[2], imageHeight: images.shape[2],
                                   imageWidth: images.shape[3], channels: w[1])
        let arena = builder.build()
        try load(arena, from: f)
        let batch = images.shape[0]
        let cache = PatchEmbedding.Cache(layer, batch: batch)
        let y = Tensor(shape: [batch, layer.patches, layer.width], repeating: .nan)
        layer.forward(y.data, images.data, batch: batch, cache: cache, arena)
        expectClose(y, try f.tensor("y"), relTol: 1e-5, "patch y")
        let dImages = Tensor(shape: images.shape, repeating: .nan)
        arena.zeroGrad()
        layer.backward(dImages: dImages.data, dy: dy.data, cache: cache, arena)
        expectClose(dImages, try f.tensor("grad.images"), relTol: 1e-4, "patch grad.images")
        try expectParameterGradients(arena, f, "patch")
    }
}
