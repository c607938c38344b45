import Foundation
import Testing
import MoDETensor
import TestSupport
@testable import MoDENN

@Suite struct ResidualAttentionBlockTests {
    func make(width: Int, heads: Int, activation: Activation, causal: Bool) -> (ResidualAttentionBlock, ParameterArena) {
        let b = ParameterBuilder()
        let block = ResidualAttentionBlock(b.scoped(""), width: width, heads: heads, mlpWidth: 4 * width,
                                           activation: activation, causal: causal)
        return (block, b.build())
    }

    /// Against open_clip's ResidualAttentionBlock (tools/nn_fixtures_block.py, float64 reference).
    /// Tolerances: output 1e-5, gradients 1e-4 relative to each tensor's largest element (Float32
    /// rounding through two sub-layers and their backward chains).
    @Test(arguments: [("block", Activation.gelu, false), ("block_causal_quickgelu", .quickGELU, true)])
    func matchesOpenCLIP(name: String, activation: Activation, causal: Bool) throws {
        let f = try fixture(name)
        let x = try f.tensor("x"), dy = try f.tensor("dy")
        let (batch, tokens, width) = (x.shape[0], x.shape[1], x.shape[2])
        let (block, arena) = make(width: width, heads: 2, activation: activation, causal: causal)
        try arena.read(from: f, allowExtra: true)
        let cache = ResidualAttentionBlock.Cache(block, batch: batch, tokens: tokens)
        let y = Tensor(shape: x.shape, repeating: .nan)
        block.forward(y.data, x.data, batch: batch, cache: cache, arena)
        expectClose(y, try f.tensor("y"), relTol: 1e-5, "\(name) y")
        arena.zeroGrad()
        let g = dy.copy()
        block.backward(grad: g.data, x: x.data, cache: cache, arena)
        expectClose(g, try f.tensor("grad.x"), relTol: 1e-4, "\(name) grad.x")
        for (spec, p) in zip(arena.specs, arena.params) {
            expectClose(arena.gradTensor(p), try f.tensor("grad." + spec.name), relTol: 1e-4, "\(name) grad.\(spec.name)")
        }
    }

    /// Finite differences of Σ w ⊙ y (Float32 forward, Double accumulation, step 1e-2) against
    /// the backward for the input and a sample of every parameter. Tolerance 2e-3 absolute +
    /// 2e-3 relative: the forward is Float32, so each difference carries ~1e-5 rounding noise
    /// divided by the step, plus O(step²) curvature.
    @Test func finiteDifferences() throws {
        let (block, arena) = make(width: 8, heads: 2, activation: .gelu, causal: true)
        var rng = SeededRNG(seed: 5)
        for p in arena.params { arena.initNormal(p, std: 0.3, rng: &rng) }
        let (batch, tokens) = (2, 3)
        let x = Tensor.randn([batch, tokens, 8], rng: &rng), w = Tensor.randn([batch, tokens, 8], rng: &rng)
        let cache = ResidualAttentionBlock.Cache(block, batch: batch, tokens: tokens)
        let y = Tensor(shape: x.shape)
        func loss() -> Double {
            block.forward(y.data, x.data, batch: batch, cache: cache, arena)
            return LayerCheck.weightedSum(y, w)
        }
        _ = loss()
        arena.zeroGrad()
        let g = w.copy()
        block.backward(grad: g.data, x: x.data, cache: cache, arena)
        let numX = LayerCheck.numericGradient(x.data, count: x.count, loss)
        expectClose(g.data, numX, relTol: 2e-3, absTol: 2e-3, "grad.x")
        for (spec, p) in zip(arena.specs, arena.params) {
            let n = min(p.count, 12)
            let num = LayerCheck.numericGradient(arena.value(p), count: n, loss)
            expectClose(arena.grad(p), num, relTol: 2e-3, absTol: 2e-3, "grad.\(spec.name) (first \(n))")
        }
    }

    /// Invariant: with a causal mask, outputs at positions ≤ i do not depend on later tokens;
    /// and open_clip's parameter names.
    @Test func causalityAndNames() {
        let (block, arena) = make(width: 8, heads: 2, activation: .quickGELU, causal: true)
        #expect(arena.specs.map(\.name) == [
            "ln_1.weight", "ln_1.bias", "attn.in_proj_weight", "attn.in_proj_bias", "attn.out_proj.weight",
            "attn.out_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
            "mlp.c_proj.weight", "mlp.c_proj.bias",
        ])
        var rng = SeededRNG(seed: 9)
        for p in arena.params { arena.initNormal(p, std: 0.3, rng: &rng) }
        let x = Tensor.randn([1, 5, 8], rng: &rng)
        let cache = ResidualAttentionBlock.Cache(block, batch: 1, tokens: 5)
        let y1 = Tensor(shape: x.shape), y2 = Tensor(shape: x.shape)
        block.forward(y1.data, x.data, batch: 1, cache: cache, arena)
        for i in 24..<40 { x[i] += 1 }  // change tokens 3 and 4
        block.forward(y2.data, x.data, batch: 1, cache: cache, arena)
        #expect(Array(y1.array[0..<24]) == Array(y2.array[0..<24]))
        #expect(Array(y1.array[24..<40]) != Array(y2.array[24..<40]))
    }
}
