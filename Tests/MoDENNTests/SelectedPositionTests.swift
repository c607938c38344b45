import MoDENN
import MoDETensor
import TestSupport
import Testing

/// The inference paths that run a block on fewer tokens or for selected positions only.
@Suite struct SelectedPositionTests {
    static func block(causal: Bool) -> (ResidualAttentionBlock, ParameterArena) {
        let builder = ParameterBuilder()
        let block = ResidualAttentionBlock(builder.scoped(""), width: 8, heads: 2, mlpWidth: 32, activation: .gelu, causal: causal)
        let arena = builder.build()
        var rng = SeededRNG(seed: 21)
        for p in arena.params { arena.initNormal(p, std: 0.3, rng: &rng) }
        return (block, arena)
    }

    @Test(arguments: [false, true])
    func selectedRowsEqualTheFullForwardsRows(causal: Bool) {
        let (block, arena) = Self.block(causal: causal)
        let (b, t, c) = (3, 5, 8)
        var rng = SeededRNG(seed: 2)
        let x = Tensor.randn([b, t, c], rng: &rng)
        let cache = ResidualAttentionBlock.Cache(block, batch: b, tokens: t)
        let full = Tensor(shape: [b, t, c])
        block.forward(full.data, x.data, batch: b, cache: cache, arena)
        let positions = [4, 0, 2]
        let selected = Tensor(shape: [b, c])
        positions.withUnsafeBufferPointer {
            block.forwardSelected(selected.data, x.data, positions: $0.baseAddress!, batch: b, cache: cache, arena)
        }
        var expected: [Float] = []
        for (i, p) in positions.enumerated() { expected += full.array[((i * t + p) * c)..<((i * t + p + 1) * c)] }
        // The same arithmetic on fewer rows (single-query products instead of blocks): rel 1e-5.
        expectClose(selected, Tensor(shape: [b, c], values: expected), relTol: 1e-5, "selected rows, causal \(causal)")
    }

    /// backwardSelected equals the full backward when dy is zero outside the selected rows.
    @Test(arguments: [false, true])
    func selectedBackwardEqualsTheFullBackward(causal: Bool) {
        let (block, arena) = Self.block(causal: causal)
        let (b, t, c) = (3, 5, 8)
        var rng = SeededRNG(seed: 8)
        let x = Tensor.randn([b, t, c], rng: &rng)
        let positions = [4, 0, 2]
        let dySelected = Tensor.randn([b, c], rng: &rng)
        let dyFull = Tensor(shape: [b, t, c])
        for (i, p) in positions.enumerated() { (dyFull.data + (i * t + p) * c).update(from: dySelected.data + i * c, count: c) }
        let cache = ResidualAttentionBlock.Cache(block, batch: b, tokens: t)
        let y = Tensor(shape: [b, t, c])
        block.forward(y.data, x.data, batch: b, cache: cache, arena)
        arena.zeroGrad()
        block.backward(grad: dyFull.data, x: x.data, cache: cache, arena)
        let fullGrads = arena.grads.copy()
        let ys = Tensor(shape: [b, c]), dx = Tensor(shape: [b, t, c], repeating: 9)
        positions.withUnsafeBufferPointer {
            block.forwardSelected(ys.data, x.data, positions: $0.baseAddress!, batch: b, cache: cache, arena)
        }
        arena.zeroGrad()
        block.backwardSelected(dx: dx.data, dy: dySelected.data, x: x.data, cache: cache, arena)
        // The same gradients without the zero rows' terms: rel 1e-5.
        expectClose(dx, dyFull, relTol: 1e-5, "dx, causal \(causal)")
        expectClose(arena.grads, fullGrads, relTol: 1e-5, "parameter gradients, causal \(causal)")
    }

    /// A causal block on the first t of T tokens gives the full run's first t rows, and its
    /// backward the same gradients as a full run whose later rows get no gradient.
    @Test func fewerTokensMatchTheFullRunsPrefix() {
        let (block, arena) = Self.block(causal: true)
        let (b, t, short, c) = (2, 6, 4, 8)
        var rng = SeededRNG(seed: 5)
        let x = Tensor.randn([b, t, c], rng: &rng)
        let dy = Tensor.randn([b, t, c], rng: &rng)
        for i in 0..<b { for j in (short * c)..<(t * c) { dy[i * t * c + j] = 0 } }
        // The same sequences and gradients packed as (B, short, C).
        let xs = Tensor(shape: [b, short, c]), dys = Tensor(shape: [b, short, c])
        for i in 0..<b {
            (xs.data + i * short * c).update(from: x.data + i * t * c, count: short * c)
            (dys.data + i * short * c).update(from: dy.data + i * t * c, count: short * c)
        }
        let cache = ResidualAttentionBlock.Cache(block, batch: b, tokens: t)
        let full = Tensor(shape: [b, t, c])
        block.forward(full.data, x.data, batch: b, cache: cache, arena)
        arena.zeroGrad()
        block.backward(grad: dy.data, x: x.data, cache: cache, arena)
        let fullGrads = arena.grads.copy()

        let ys = Tensor(shape: [b, short, c])
        block.forward(ys.data, xs.data, batch: b, tokens: short, cache: cache, arena)
        #expect(cache.tokens == short)
        for i in 0..<b {
            let prefix = Tensor(shape: [short, c], values: Array(full.array[(i * t * c)..<((i * t + short) * c)]))
            // Same rows, same products restricted to fewer keys: rel 1e-6.
            expectClose(ys.data + i * short * c, prefix, relTol: 1e-6, "rows of sequence \(i)")
        }
        arena.zeroGrad()
        block.backward(grad: dys.data, x: xs.data, cache: cache, arena)
        // Gradients summed without the zero rows: rel 1e-5.
        expectClose(arena.grads, fullGrads, relTol: 1e-5, "parameter gradients")
    }
}
