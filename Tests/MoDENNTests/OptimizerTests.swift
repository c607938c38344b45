import Foundation
import Testing
import TestSupport
@testable import MoDENN
import MoDETensor

@Suite struct OptimizerTests {
    /// Five AdamW steps with clipping and the cosine schedule against torch.optim.AdamW
    /// (fixture: tools/optim_fixtures.py). Tolerance 1e-5 relative: the same Float32 arithmetic
    /// in a different order (PyTorch's foreach kernels), five steps deep.
    @Test func matchesPyTorchAdamW() throws {
        let f = try fixture("adamw")
        let b = ParameterBuilder()
        let w = b.add("visual.proj.weight", [4, 3])
        let bias = b.add("visual.proj.bias", [3])
        let scale = b.add("logit_scale", [])
        let arena = b.build()
        #expect(arena.specs.map(\.decay) == [true, false, false])
        arena.set(w, try f.tensor("w0").array)
        arena.set(bias, try f.tensor("b0").array)
        arena.set(scale, try f.tensor("s0").array)
        let opt = AdamW(arena)
        let schedule = CosineSchedule(baseLR: 1e-2, warmup: 2, totalSteps: 5)
        let lrs = try f.tensor("lrs"), norms = try f.tensor("norms")
        for t in 0..<5 {
            arena.zeroGrad()
            for (p, n) in [(w, "gw"), (bias, "gb"), (scale, "gs")] {
                let g = try f.tensor("\(n)\(t)")
                arena.grad(p).update(from: g.data, count: p.count)
            }
            let lr = schedule.lr(at: t)
            #expect(abs(lr - lrs[t]) <= 1e-7 * lrs[t], "lr at step \(t)")
            let norm = clipGradNorm(arena, maxNorm: 1)
            #expect(abs(norm - norms[t]) <= 1e-5 * norms[t], "grad norm at step \(t)")
            opt.update(lr: lr)
            expectClose(arena.value(w), try f.tensor("w\(t + 1)"), relTol: 1e-5, "w after step \(t + 1)")
            expectClose(arena.value(bias), try f.tensor("b\(t + 1)"), relTol: 1e-5, "b after step \(t + 1)")
            expectClose(arena.value(scale), try f.tensor("s\(t + 1)"), relTol: 1e-5, "logit_scale after step \(t + 1)")
        }
    }

    @Test func decayRuleFollowsOpenCLIP() {
        let cases: [(String, [Int], Bool)] = [
            ("visual.conv1.weight", [8, 3, 4, 4], true), ("token_embedding.weight", [10, 4], true),
            ("positional_embedding", [5, 4], true), ("text_projection", [4, 4], true),
            ("visual.ln_pre.weight", [4], false), ("transformer.resblocks.0.ln_1.weight", [4], false),
            ("visual.class_embedding", [4], false), ("logit_scale", [], false),
            ("transformer.resblocks.0.attn.in_proj_bias", [12], false),
        ]
        for (n, s, d) in cases { #expect(ParameterSpec.defaultDecay(name: n, shape: s) == d, "\(n)") }
    }

    @Test func scheduleShape() {
        let s = CosineSchedule(baseLR: 1, warmup: 10, totalSteps: 110)
        #expect(s.lr(at: 0) == 0.1 && s.lr(at: 9) == 1 && s.lr(at: 10) == 1)
        #expect(abs(s.lr(at: 60) - 0.5) < 1e-6 && s.lr(at: 110) < 1e-6)
        for t in 10..<110 { #expect(s.lr(at: t + 1) <= s.lr(at: t)) }
    }

    @Test func clippingScalesOnlyAboveTheLimit() {
        let b = ParameterBuilder()
        let p = b.add("w", [2, 2])
        let a = b.build()
        a.grad(p).update(from: [3, 4, 0, 0], count: 4)
        #expect(clipGradNorm(a, maxNorm: 10) == 5 && a.grad(p)[0] == 3)
        #expect(clipGradNorm(a, maxNorm: 1) == 5)
        #expect(abs(gradNorm(a) - 1) < 1e-5)
        a.grad(p)[1] = .nan
        #expect(clipGradNorm(a, maxNorm: 1).isNaN)
    }
}
