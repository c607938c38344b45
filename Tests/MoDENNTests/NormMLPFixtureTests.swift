import Testing
import MoDENN
import MoDETensor
import TestSupport

/// LayerNorm, Linear and MLP against PyTorch / open_clip (fixtures: tools/nn_fixtures_norm_mlp.py):
/// outputs, input gradients and every parameter gradient, for a (2, 3, 20) input.
/// Tolerances: outputs 1e-5 relative (the same Float32 arithmetic in another order; GEMM
/// blocking and our erf/exp differ from PyTorch's by a few ulp); gradients 1e-4 relative
/// (sums over rows and a second GEMM in another order).
@Suite struct NormMLPFixtureTests {
    @Test func layerNormMatchesPyTorch() throws {
        let f = try fixture("layernorm")
        let b = ParameterBuilder()
        let ln = LayerNorm(b.scoped("ln_1"), dim: 20)
        let arena = b.build()
        try loadParameters(arena, from: f)
        let x = try f.tensor("input"), dy = try f.tensor("grad_output")
        let rows = x.count / 20
        let cache = LayerNorm.Cache(rows: rows)
        let y = Tensor(shape: x.shape), dx = Tensor(shape: x.shape)
        ln.forward(y.data, x.data, rows: rows, cache: cache, arena)
        expectClose(y, try f.tensor("output"), relTol: 1e-5, "layernorm output")
        ln.backward(dx: dx.data, dy: dy.data, x: x.data, rows: rows, cache: cache, arena)
        expectClose(dx, try f.tensor("grad_input"), relTol: 1e-4, "layernorm grad_input")
        try expectParameterGradients(arena, f, relTol: 1e-4, "layernorm")
    }

    @Test func linearMatchesPyTorch() throws {
        let f = try fixture("linear")
        let b = ParameterBuilder()
        let lin = Linear(b.scoped(""), in: 20, out: 13)
        let arena = b.build()
        #expect(arena.specs.map(\.name) == ["weight", "bias"])
        try loadParameters(arena, from: f)
        let x = try f.tensor("input"), dy = try f.tensor("grad_output")
        let rows = x.count / 20
        let y = Tensor(shape: [2, 3, 13]), dx = Tensor(shape: x.shape)
        lin.forward(y.data, x.data, rows: rows, arena)
        expectClose(y, try f.tensor("output"), relTol: 1e-5, "linear output")
        lin.backward(dx: dx.data, dy: dy.data, x: x.data, rows: rows, arena)
        expectClose(dx, try f.tensor("grad_input"), relTol: 1e-4, "linear grad_input")
        try expectParameterGradients(arena, f, relTol: 1e-4, "linear")
    }

    @Test(arguments: [Activation.gelu, .quickGELU])
    func mlpMatchesOpenCLIP(_ activation: Activation) throws {
        let f = try fixture("mlp_\(activation.rawValue)")
        #expect(f.metadata["activation"] == activation.rawValue)
        let b = ParameterBuilder()
        let mlp = MLP(b.scoped("mlp"), width: 20, hidden: 80, activation: activation)
        let arena = b.build()
        #expect(Set(arena.specs.map(\.name)) == ["mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"])
        try loadParameters(arena, from: f)
        let x = try f.tensor("input"), dy = try f.tensor("grad_output")
        let rows = x.count / 20
        // A cache larger than needed, as a training loop would hold for its largest batch.
        let cache = mlp.makeCache(rows: rows + 5)
        let y = Tensor(shape: x.shape), dx = Tensor(shape: x.shape)
        mlp.forward(y.data, x.data, rows: rows, cache: cache, arena)
        expectClose(y, try f.tensor("output"), relTol: 1e-5, "mlp \(activation) output")
        mlp.backward(dx: dx.data, dy: dy.data, x: x.data, rows: rows, cache: cache, arena)
        expectClose(dx, try f.tensor("grad_input"), relTol: 1e-4, "mlp \(activation) grad_input")
        try expectParameterGradients(arena, f, relTol: 1e-4, "mlp \(activation)")
    }

    /// The activations alone on 2001 points in [−10, 10]. GELU must agree with PyTorch's exact-erf
    /// GELU to 1e-6 absolute (both are within ~1–2 ulp of the exact value; ulp(10) ≈ 1e-6);
    /// QuickGELU likewise. Derivatives: 2e-6 absolute (a few ulp of values ≤ 1.13).
    @Test(arguments: [Activation.gelu, .quickGELU])
    func activationMatchesPyTorch(_ activation: Activation) throws {
        let f = try fixture("activations")
        let x = try f.tensor("input")
        let y = Tensor(shape: x.shape), d = Tensor(shape: x.shape), ones = Tensor(shape: x.shape, repeating: 1)
        activation.forward(y.data, x.data, count: x.count)
        activation.backward(d.data, ones.data, x.data, count: x.count)
        expectClose(y, try f.tensor(activation.rawValue), relTol: 0, absTol: 1e-6, "\(activation)")
        expectClose(d, try f.tensor("grad." + activation.rawValue), relTol: 0, absTol: 2e-6, "\(activation) derivative")
    }
}
