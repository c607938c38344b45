import Testing
import MoDETensor
import TestSupport
@testable import MoDENN

/// A layer with random parameters and a matching cache.
private struct MHASetup {
    let layer: MultiheadAttention
    let arena: ParameterArena
    let cache: MultiheadAttention.Cache
    let batch, tokens: Int

    init(batch: Int, tokens: Int, width: Int, heads: Int, causal: Bool, seed: UInt64) {
        let builder = ParameterBuilder()
        layer = MultiheadAttention(builder.scoped("attn"), width: width, heads: heads, causal: causal)
        arena = builder.build()
        var rng = SeededRNG(seed: seed)
        for p in arena.params { arena.initNormal(p, std: 0.5, rng: &rng) }
        cache = MultiheadAttention.Cache(layer, batch: batch, tokens: tokens)
        self.batch = batch
        self.tokens = tokens
    }

    var params: [(String, Param)] { zip(arena.specs.map(\.name), arena.params).map { ($0, $1) } }

    func forward(_ x: Tensor) -> Tensor {
        let y = Tensor(shape: [batch, tokens, layer.width], repeating: .nan)
        layer.forward(y.data, x.data, batch: batch, cache: cache, arena)
        return y
    }
}

@Suite struct MultiheadAttentionTests {
    @Test func parameterNamesMatchPyTorch() {
        let builder = ParameterBuilder()
        _ = MultiheadAttention(builder.scoped("transformer.resblocks.0.attn"), width: 8, heads: 2)
        let table = builder.specs.map { "\($0.name) \($0.shape)" }
        #expect(table == ["transformer.resblocks.0.attn.in_proj_weight [24, 8]",
                          "transformer.resblocks.0.attn.in_proj_bias [24]",
                          "transformer.resblocks.0.attn.out_proj.weight [8, 8]",
                          "transformer.resblocks.0.attn.out_proj.bias [8]"])
    }

    @Test(arguments: [false, true])
    func gradientsMatchFiniteDifferences(causal: Bool) {
        let s = MHASetup(batch: 2, tokens: 3, width: 4, heads: 2, causal: causal, seed: 21)
        var rng = SeededRNG(seed: 22)
        let x = Tensor.randn([2, 3, 4], rng: &rng)
        let w = Tensor.randn([2, 3, 4], rng: &rng)
        _ = s.forward(x)
        let dx = Tensor(shape: x.shape, repeating: .nan)
        s.arena.zeroGrad()
        s.layer.backward(dx: dx.data, dy: w.data, x: x.data, cache: s.cache, s.arena)
        let loss = { LayerCheck.weightedSum(s.forward(x), w) }
        // Float forward, eps = 1e-2: truncation ~eps²·|f'''| and rounding ~1e-7·|loss|/eps, each
        // ~1e-4 against gradients of order 1 (observed ≤ 3e-4); 2e-3 leaves a margin of about 6.
        expectClose(dx.data, LayerCheck.numericGradient(x.data, count: x.count, loss), relTol: 2e-3, "dx causal \(causal)")
        for (name, p) in s.params {
            let numeric = LayerCheck.numericGradient(s.arena.value(p), count: p.count, loss)
            expectClose(s.arena.grad(p), numeric, relTol: 2e-3, "\(name) causal \(causal)")
        }
    }

    @Test func backwardAccumulates() {
        let s = MHASetup(batch: 2, tokens: 5, width: 6, heads: 3, causal: true, seed: 31)
        var rng = SeededRNG(seed: 32)
        let x = Tensor.randn([2, 5, 6], rng: &rng), dy = Tensor.randn([2, 5, 6], rng: &rng)
        _ = s.forward(x)
        let dx = Tensor(shape: x.shape, repeating: .nan)
        s.arena.zeroGrad()
        s.layer.backward(dx: dx.data, dy: dy.data, x: x.data, cache: s.cache, s.arena)
        let once = s.arena.grads.copy(), dxOnce = dx.copy()
        s.layer.backward(dx: dx.data, dy: dy.data, x: x.data, cache: s.cache, s.arena, accumulate: true)
        // A GEMM with beta = 1 may fold the old value in mid-sum: equal to 2× up to Float rounding.
        for i in 0..<once.count { #expect(abs(s.arena.grads[i] - 2 * once[i]) <= 1e-6 * (1 + abs(once[i]))) }
        for i in 0..<dx.count { #expect(abs(dx[i] - 2 * dxOnce[i]) <= 1e-6 * (1 + abs(dxOnce[i]))) }
        // Without dx, parameter gradients still accumulate.
        s.layer.backward(dx: nil, dy: dy.data, x: x.data, cache: s.cache, s.arena)
        for i in 0..<once.count { #expect(abs(s.arena.grads[i] - 3 * once[i]) <= 1e-6 * (1 + abs(once[i]))) }
    }

    @Test func smallerBatchInLargerCacheMatches() {
        let s = MHASetup(batch: 3, tokens: 4, width: 6, heads: 2, causal: false, seed: 41)
        var rng = SeededRNG(seed: 42)
        let x = Tensor.randn([3, 4, 6], rng: &rng)
        let full = s.forward(x)
        let y = Tensor(shape: [1, 4, 6])
        s.layer.forward(y.data, x.data + 24, batch: 1, cache: s.cache, s.arena)
        #expect(s.cache.batch == 1)
        // Each sequence is computed independently of the others: equal up to GEMM blocking.
        for i in 0..<24 { #expect(abs(y[i] - full[24 + i]) <= 1e-6 * (1 + abs(full[24 + i]))) }
    }

    @Test func causalFirstTokenIsProjectedValue() {
        // With a causal mask, token 0 attends only to itself: y₀ = out_proj(v₀).
        let s = MHASetup(batch: 2, tokens: 4, width: 6, heads: 3, causal: true, seed: 51)
        var rng = SeededRNG(seed: 52)
        let x = Tensor.randn([2, 4, 6], rng: &rng)
        let y = s.forward(x)
        let wIn = s.arena.value(s.layer.inProj.weight), bIn = s.arena.value(s.layer.inProj.bias!)
        let wOut = s.arena.value(s.layer.outProj.weight), bOut = s.arena.value(s.layer.outProj.bias!)
        for b in 0..<2 {
            var v = [Double](repeating: 0, count: 6)
            for o in 0..<6 {
                v[o] = Double(bIn[12 + o])
                for i in 0..<6 { v[o] += Double(wIn[(12 + o) * 6 + i]) * Double(x[b * 24 + i]) }
            }
            for o in 0..<6 {
                var e = Double(bOut[o])
                for i in 0..<6 { e += Double(wOut[o * 6 + i]) * v[i] }
                #expect(abs(Double(y[b * 24 + o]) - e) <= 1e-5 * (1 + abs(e))) // Float vs Double, 12 terms
            }
        }
    }
}
