import Foundation
import RealModule

/// Softmax cross-entropy with integer targets (PyTorch `F.cross_entropy`, mean reduction).
public enum CrossEntropy {
    /// Returns the mean over rows of −log softmax(logits (rows, classes))[target]; saves the
    /// probabilities probs (rows, classes) for the backward. probs may alias logits.
    /// targets (rows) must lie in 0..<classes.
    public static func forward(_ probs: UnsafeMutablePointer<Float>, _ logits: UnsafePointer<Float>,
                               targets: UnsafePointer<Int32>, rows: Int, classes: Int) -> Float {
        if rows == 0 { return 0 }
        let losses = UnsafeMutablePointer<Double>.allocate(capacity: rows)
        defer { losses.deallocate() }
        Parallel.forEach(rows, grain: rowGrain(classes)) { range in
            for r in range {
                let t = Int(targets[r])
                precondition(t >= 0 && t < classes, "target \(t) outside 0..<\(classes)")
                // Read x_t first: probs may alias logits. −log p_t = log Σ e^(x − max) + max − x_t.
                let xt = logits[r * classes + t]
                let (m, s) = Softmax.forwardRow(probs + r * classes, logits + r * classes,
                                                valid: classes, cols: classes, scale: 1)
                losses[r] = Double(Foundation.log(s)) + (Double(m) - Double(xt))
            }
        }
        var s = 0.0
        for r in 0..<rows { s += losses[r] }
        return Float(s / Double(rows))
    }

    /// Backward of `forward`: dlogits (rows, classes) = scale · (probs − onehot(targets)) / rows,
    /// from the saved probs (rows, classes). dlogits may alias probs.
    public static func backward(_ dlogits: UnsafeMutablePointer<Float>, _ probs: UnsafePointer<Float>,
                                targets: UnsafePointer<Int32>, rows: Int, classes: Int, scale: Float = 1) {
        if rows == 0 { return }
        let s = scale / Float(rows)
        Parallel.forEach(rows, grain: rowGrain(classes)) { range in
            for r in range {
                let d = dlogits + r * classes, p = probs + r * classes
                let t = Int(targets[r])
                let pt = p[t]  // read before d (which may alias p) is written
                var i = 0
                while i + 16 <= classes { store16(d + i, s * load16(p + i)); i += 16 }
                while i < classes { d[i] = s * p[i]; i += 1 }
                d[t] = s * (pt - 1)  // p − 1 is exact for p ≥ ½: one rounding, no cancellation
            }
        }
    }

    /// Naive reference for `forward`, in any precision.
    public static func forwardReference<T: Real & BinaryFloatingPoint>(_ probs: UnsafeMutablePointer<T>, _ logits: UnsafePointer<T>,
                                                                       targets: UnsafePointer<Int32>, rows: Int, classes: Int) -> T {
        var total: T = 0
        for r in 0..<rows {
            var m = -T.infinity
            for c in 0..<classes { m = Swift.max(m, logits[r * classes + c]) }
            var s: T = 0
            for c in 0..<classes { s += T.exp(logits[r * classes + c] - m) }
            for c in 0..<classes { probs[r * classes + c] = T.exp(logits[r * classes + c] - m) / s }
            total += T.log(s) + m - logits[r * classes + Int(targets[r])]
        }
        return total / T(rows)
    }

    /// Naive reference for `backward`, in any precision.
    public static func backwardReference<T: BinaryFloatingPoint>(_ dlogits: UnsafeMutablePointer<T>, _ probs: UnsafePointer<T>,
                                                                 targets: UnsafePointer<Int32>, rows: Int, classes: Int,
                                                                 scale: T = 1) {
        for r in 0..<rows {
            for c in 0..<classes {
                let onehot: T = c == Int(targets[r]) ? 1 : 0
                dlogits[r * classes + c] = scale * (probs[r * classes + c] - onehot) / T(rows)
            }
        }
    }
}
