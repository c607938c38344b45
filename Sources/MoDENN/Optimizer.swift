import CMoDEKernels
import Foundation
import MoDETensor

/// AdamW with PyTorch's semantics (`torch.optim.AdamW`): decoupled weight decay applied before the
/// moment update, bias-corrected first and second moments, eps added to the corrected √v.
/// Weight decay applies only to parameters whose spec has `decay` (open_clip's rule). The moments
/// share the arena's layout, so the step is one flat loop.
public final class AdamW {
    public var beta1: Float
    public var beta2: Float
    public var eps: Float
    public var weightDecay: Float
    /// Steps taken so far (PyTorch's `state['step']`).
    public private(set) var step: Int = 0
    public let m: Tensor
    public let v: Tensor
    /// 1 where weight decay applies, 0 elsewhere (and in padding), arena layout.
    let decayMask: Tensor
    let arena: ParameterArena

    /// open_clip's defaults: betas (0.9, 0.98), eps 1e-6, weight decay 0.2.
    public init(_ arena: ParameterArena, beta1: Float = 0.9, beta2: Float = 0.98, eps: Float = 1e-6, weightDecay: Float = 0.2) {
        self.arena = arena
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        m = Tensor(shape: [arena.count])
        v = Tensor(shape: [arena.count])
        decayMask = Tensor(shape: [arena.count])
        for (p, s) in zip(arena.params, arena.specs) where s.decay {
            (decayMask.data + p.offset).update(repeating: 1, count: p.count)
        }
    }

    /// One update of every parameter from the arena's gradients at learning rate `lr`.
    public func update(lr: Float) {
        step += 1
        let t = Float(step)
        let bc1 = 1 - pow(beta1, t)
        let bc2Sqrt = (1 - pow(beta2, t)).squareRoot()
        let stepSize = lr / bc1
        let decay = lr * weightDecay
        let (b1, b2, eps) = (beta1, beta2, eps)
        let p = arena.values.data, g = arena.grads.data, m = m.data, v = v.data, mask = decayMask.data
        // x ← x − decay·mask·x; m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; x ← x − stepSize·m / (√v / √bc₂ + eps),
        // elementwise in this order (a C kernel).
        Profiler.region("adamw") {
            Parallel.forEach(arena.count, grain: 16384) { r in
                mode_adamw_update(p, g, m, v, mask, r.lowerBound, r.upperBound, b1, b2, eps, decay, stepSize, bc2Sqrt)
            }
        }
    }

    /// Restores the step count (with `m` and `v`, which callers fill directly) from a checkpoint.
    public func restore(step: Int) { self.step = step }
}

/// open_clip's `cosine_lr`: linear warm-up to `baseLR` over `warmup` steps, then a half cosine
/// from `baseLR` to 0 at `totalSteps`. Steps count from 0.
public struct CosineSchedule: Sendable, Equatable {
    public var baseLR: Float
    public var warmup: Int
    public var totalSteps: Int

    public init(baseLR: Float, warmup: Int, totalSteps: Int) {
        self.baseLR = baseLR
        self.warmup = warmup
        self.totalSteps = totalSteps
    }

    /// The learning rate for step `step` (0-based).
    public func lr(at step: Int) -> Float {
        if step < warmup { return baseLR * Float(step + 1) / Float(warmup) }
        let e = Double(step - warmup)
        let es = Double(max(1, totalSteps - warmup))
        return Float(0.5 * (1 + cos(Double.pi * e / es))) * baseLR
    }
}

/// Global-norm gradient clipping as `torch.nn.utils.clip_grad_norm_`: scales every gradient by
/// maxNorm / (norm + 1e-6) when that is below 1. Returns the norm before clipping (non-finite when
/// a gradient is NaN or infinite; then nothing is scaled).
@discardableResult
public func clipGradNorm(_ arena: ParameterArena, maxNorm: Float) -> Float {
    Profiler.region("grad_clip") { clipGradNormUnprofiled(arena, maxNorm: maxNorm) }
}

private func clipGradNormUnprofiled(_ arena: ParameterArena, maxNorm: Float) -> Float {
    let norm = gradNorm(arena)
    guard norm.isFinite else { return norm }
    let coef = maxNorm / (norm + 1e-6)
    if coef < 1 {
        let g = arena.grads.data
        Parallel.forEach(arena.count, grain: 16384) { r in for i in r { g[i] *= coef } }
    }
    return norm
}

/// The L2 norm of all gradients together (accumulated in Double, deterministic for a fixed
/// thread count).
public func gradNorm(_ arena: ParameterArena) -> Float {
    let g = arena.grads.data
    let n = arena.count
    let chunks = max(1, min(Parallel.threads, n / 16384))
    var partial = [Double](repeating: 0, count: chunks)
    partial.withUnsafeMutableBufferPointer { part in
        Parallel.forEach(chunks) { cs in
            for c in cs {
                var s: Double = 0
                for i in (n * c / chunks)..<(n * (c + 1) / chunks) { s += Double(g[i]) * Double(g[i]) }
                part[c] = s
            }
        }
    }
    return Float(partial.reduce(0, +).squareRoot())
}
