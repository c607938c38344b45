import Testing
import MoDENN
import MoDETensor
import TestSupport

@Suite struct MLPTests {
    /// An MLP of width 5, hidden 12 with random weights of unit-ish scale.
    static func make(_ activation: Activation, rng: inout SeededRNG) -> (MLP, ParameterArena) {
        let b = ParameterBuilder()
        let mlp = MLP(b.scoped("mlp"), width: 5, hidden: 12, activation: activation)
        let arena = b.build()
        for p in arena.params { arena.initNormal(p, std: 0.5, rng: &rng) }
        return (mlp, arena)
    }

    /// Central differences of the Float layer (loss Σ w ⊙ y accumulated in Double) against its
    /// backward, for the input and all four parameters. Step h = 1e-2: the activations' third
    /// derivatives are O(1), so truncation error is ~h²/6 times the cube of how far a step moves
    /// the pre-activations (up to |x| ≈ 4 for a c_fc weight), and Float rounding of the loss adds
    /// ~1e-7·Σ|w y| / 2h ≈ 1e-5. Measured worst 3.5e-4 (a c_fc weight); tolerance 1e-3 absolute
    /// plus 1e-3 relative.
    @Test(arguments: [Activation.gelu, .quickGELU])
    func backwardMatchesFiniteDifferences(_ activation: Activation) {
        var rng = SeededRNG(seed: 4)
        let rows = 3
        let (mlp, arena) = Self.make(activation, rng: &rng)
        let x = Tensor.randn([rows, 5], std: 1.5, rng: &rng), w = Tensor.randn([rows, 5], rng: &rng)
        let y = Tensor(shape: [rows, 5]), dx = Tensor(shape: [rows, 5])
        let cache = mlp.makeCache(rows: rows)
        func loss() -> Double {
            mlp.forward(y.data, x.data, rows: rows, cache: cache, arena)
            return LayerCheck.weightedSum(y, w)
        }
        let nx = LayerCheck.numericGradient(x.data, count: x.count, loss)
        let nps = arena.params.map { LayerCheck.numericGradient(arena.value($0), count: $0.count, loss) }
        _ = loss()
        arena.zeroGrad()
        mlp.backward(dx: dx.data, dy: w.data, x: x.data, rows: rows, cache: cache, arena)
        expectGradientsAgree(dx.data, nx, absTol: 1e-3, relTol: 1e-3, "\(activation) dx")
        for (p, n) in zip(arena.params, nps) {
            expectGradientsAgree(arena.grad(p), n, absTol: 1e-3, relTol: 1e-3, "\(activation) d\(arena.specs[p.index].name)")
        }
    }

    /// With c_fc zeroed the hidden layer is act(0) = 0, so every output row is c_proj.bias exactly,
    /// c_proj.weight gets no gradient and c_proj.bias gets the column sums of dy. Rows are
    /// independent: permuting the input rows permutes the output rows.
    @Test(arguments: [Activation.gelu, .quickGELU])
    func invariants(_ activation: Activation) {
        var rng = SeededRNG(seed: 5)
        let rows = 4
        let (mlp, arena) = Self.make(activation, rng: &rng)
        let x = Tensor.randn([rows, 5], rng: &rng), dy = Tensor.randn([rows, 5], rng: &rng)
        let cache = mlp.makeCache(rows: rows)
        let y = Tensor(shape: [rows, 5]), yp = Tensor(shape: [rows, 5])
        // Row permutation (3, 0, 2, 1).
        let perm = [3, 0, 2, 1]
        let xp = Tensor(shape: [rows, 5])
        for (r, s) in perm.enumerated() { (xp.data + r * 5).update(from: x.data + s * 5, count: 5) }
        mlp.forward(y.data, x.data, rows: rows, cache: cache, arena)
        mlp.forward(yp.data, xp.data, rows: rows, cache: cache, arena)
        let yPermuted = Tensor(shape: [rows, 5])
        for (r, s) in perm.enumerated() { (yPermuted.data + r * 5).update(from: y.data + s * 5, count: 5) }
        // The same per-row arithmetic; GEMM may block rows differently: 1e-6 relative.
        expectClose(yp, yPermuted, relTol: 1e-6, "\(activation): rows are independent")

        arena.initConstant(mlp.cFc.weight, 0)
        arena.initConstant(mlp.cFc.bias!, 0)
        mlp.forward(y.data, x.data, rows: rows, cache: cache, arena)
        let bias = arena.tensor(mlp.cProj.bias!).array
        #expect((0..<rows).allSatisfy { r in (0..<5).allSatisfy { y.data[r * 5 + $0] == bias[$0] } })
        arena.zeroGrad()
        let dx = Tensor(shape: [rows, 5])
        mlp.backward(dx: dx.data, dy: dy.data, x: x.data, rows: rows, cache: cache, arena)
        #expect(arena.gradTensor(mlp.cProj.weight).array.allSatisfy { $0 == 0 })
        let colSums = (0..<5).map { c in (0..<rows).reduce(Float(0)) { $0 + dy.data[$1 * 5 + c] } }
        expectClose(arena.gradTensor(mlp.cProj.bias!), Tensor(shape: [5], values: colSums), relTol: 1e-6, "c_proj.bias grad")
    }

    /// Backward accumulates parameter gradients and, on request, dx; nil dx skips the input gradient.
    @Test func accumulation() {
        var rng = SeededRNG(seed: 6)
        let rows = 3
        let (mlp, arena) = Self.make(.gelu, rng: &rng)
        let x = Tensor.randn([rows, 5], rng: &rng), dy = Tensor.randn([rows, 5], rng: &rng)
        let cache = mlp.makeCache(rows: rows)
        let y = Tensor(shape: [rows, 5]), dx = Tensor(shape: [rows, 5])
        mlp.forward(y.data, x.data, rows: rows, cache: cache, arena)
        arena.zeroGrad()
        mlp.backward(dx: dx.data, dy: dy.data, x: x.data, rows: rows, cache: cache, arena)
        let once = arena.grads.array, dx1 = dx.array
        // The backward consumed the cache: run the forward again first.
        mlp.forward(y.data, x.data, rows: rows, cache: cache, arena)
        mlp.backward(dx: dx.data, dy: dy.data, x: x.data, rows: rows, cache: cache, arena, accumulate: true)
        expectClose(arena.grads, Tensor(shape: [once.count], values: once.map { 2 * $0 }), relTol: 1e-6, "grads accumulate")
        expectClose(dx, Tensor(shape: [rows, 5], values: dx1.map { 2 * $0 }), relTol: 1e-6, "dx accumulates")
        mlp.forward(y.data, x.data, rows: rows, cache: cache, arena)
        mlp.backward(dx: nil, dy: dy.data, x: x.data, rows: rows, cache: cache, arena)
        expectClose(arena.grads, Tensor(shape: [once.count], values: once.map { 3 * $0 }), relTol: 1e-6, "grads without dx")
    }
}
