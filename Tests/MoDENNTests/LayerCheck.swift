import MoDETensor

/// Finite-difference helpers for layer tests (compare with the shared `expectClose`).
enum LayerCheck {
    /// Σ w ⊙ y, accumulated in Double.
    static func weightedSum(_ y: Tensor, _ w: Tensor) -> Double {
        precondition(y.count == w.count)
        var s = 0.0
        for i in 0..<w.count { s += Double(w[i]) * Double(y[i]) }
        return s
    }

    /// Central differences of `loss` with respect to each of the `count` Floats at `x`, stepping
    /// by `eps` and dividing by the step actually representable in Float. Restores `x`. Returned
    /// as a Float tensor of `shape` (default: flat), for the shared `expectClose`.
    static func numericGradient(_ x: UnsafeMutablePointer<Float>, count: Int, shape: [Int]? = nil, eps: Float = 1e-2,
                                _ loss: () -> Double) -> Tensor {
        let g = Tensor(shape: shape ?? [count])
        precondition(g.count == count)
        for i in 0..<count {
            let saved = x[i]
            x[i] = saved + eps
            let hi = x[i]
            let up = loss()
            x[i] = saved - eps
            let lo = x[i]
            let down = loss()
            x[i] = saved
            g[i] = Float((up - down) / (Double(hi) - Double(lo)))
        }
        return g
    }
}
