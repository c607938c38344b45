import Testing
import Tensor

/// Finite-difference and comparison helpers for layer tests.
enum LayerCheck {
    /// Σ w ⊙ y, accumulated in Double.
    static func weightedSum(_ y: Tensor, _ w: Tensor) -> Double {
        precondition(y.count == w.count)
        var s = 0.0
        for i in 0..<w.count { s += Double(w[i]) * Double(y[i]) }
        return s
    }

    /// Central differences of `loss` with respect to each of the `count` Floats at `x`, stepping
    /// by `eps` and dividing by the step actually representable in Float. Restores `x`.
    static func numericGradient(_ x: UnsafeMutablePointer<Float>, count: Int, eps: Float = 1e-2,
                                _ loss: () -> Double) -> [Double] {
        (0..<count).map { i in
            let saved = x[i]
            x[i] = saved + eps
            let hi = x[i]
            let up = loss()
            x[i] = saved - eps
            let lo = x[i]
            let down = loss()
            x[i] = saved
            return (up - down) / (Double(hi) - Double(lo))
        }
    }

    /// Expects |actual − expected| ≤ tol · max(|expected|, max over the tensor of |expected|)
    /// elementwise: relative where an element is large, relative to the tensor's scale near zero.
    static func expectClose(_ actual: [Double], _ expected: [Double], tol: Double, _ what: String,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(actual.count == expected.count, "\(what): \(actual.count) vs \(expected.count) values",
                sourceLocation: sourceLocation)
        let scale = expected.reduce(0) { max($0, abs($1)) }
        var worst = 0.0, at = -1
        for i in 0..<min(actual.count, expected.count) {
            let e = abs(actual[i] - expected[i]) / max(abs(expected[i]), scale, .leastNormalMagnitude)
            if e.isNaN { worst = .nan; at = i; break }
            if e > worst { worst = e; at = i }
        }
        #expect(worst <= tol, "\(what): relative error \(worst) at \(at) > \(tol)", sourceLocation: sourceLocation)
    }

    /// The `count` Floats at `p` as Doubles.
    static func doubles(_ p: UnsafePointer<Float>, _ count: Int) -> [Double] {
        (0..<count).map { Double(p[$0]) }
    }
}
