import RealModule
import CMoDEKernels

/// Pointwise activations with their derivatives.
public enum Activation: String, Sendable, CaseIterable, Codable {
    /// x · Φ(x) = 0.5 · x · (1 + erf(x / √2)), exact-erf GELU as PyTorch's `nn.GELU()`.
    case gelu
    /// x · sigmoid(1.702 · x), open_clip's `QuickGELU`.
    case quickGELU = "quick_gelu"

    /// Elements per parallel chunk.
    static let grain = 16_384

    /// y (count) = act(x (count)). In place (y == x) works.
    public func forward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
        let act = self
        Activation.chunked(count) { lo, hi in
            switch act {
            case .gelu: Activation.geluForward(y + lo, x + lo, count: hi - lo)
            case .quickGELU: Activation.quickGELUForward(y + lo, x + lo, count: hi - lo)
            }
        }
    }

    /// Backward of `forward`: dx (count) = dy (count) ⊙ act′(x (count)), written, or added to dx
    /// when `accumulate`. dx may alias dy.
    public func backward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>,
                         count: Int, accumulate: Bool = false) {
        let act = self
        Activation.chunked(count) { lo, hi in
            switch act {
            case .gelu: Activation.geluBackward(dx + lo, dy + lo, x + lo, count: hi - lo, accumulate: accumulate)
            case .quickGELU: Activation.quickGELUBackward(dx + lo, dy + lo, x + lo, count: hi - lo, accumulate: accumulate)
            }
        }
    }

    /// Runs body(lo, hi) over parallel chunks of 0..<count whose bounds are multiples of 16.
    @inline(__always)
    static func chunked(_ count: Int, _ body: (Int, Int) -> Void) {
        forEachChunk16(count, grain: grain, body)
    }

    // The loops are C kernels (CMoDEKernels), the vector math inlined in them.

    /// GELU: x · ½ · (1 + erf(x · √½)), the order of operations PyTorch uses.
    static func geluForward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count n: Int) {
        mode_gelu_forward(y, x, n)
    }

    /// GELU′(x) = Φ(x) + x · φ(x), φ(x) = e^(−x²/2) / √(2π).
    static func geluBackward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>,
                             count n: Int, accumulate: Bool) {
        mode_gelu_backward(dx, dy, x, n, accumulate ? 1 : 0)
    }

    /// QuickGELU: x · sigmoid(1.702 · x).
    static func quickGELUForward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count n: Int) {
        mode_quick_gelu_forward(y, x, n)
    }

    /// QuickGELU′(x) = s + 1.702 · x · s · (1 − s), s = sigmoid(1.702 · x).
    static func quickGELUBackward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>,
                                  count n: Int, accumulate: Bool) {
        mode_quick_gelu_backward(dx, dy, x, n, accumulate ? 1 : 0)
    }

    /// Naive reference for `forward`, in any precision.
    public func forwardReference<T: Real & BinaryFloatingPoint>(_ y: UnsafeMutablePointer<T>, _ x: UnsafePointer<T>, count: Int) {
        for i in 0..<count {
            let v = x[i]
            switch self {
            case .gelu: y[i] = v / 2 * (1 + T.erf(v / T(2).squareRoot()))
            case .quickGELU: y[i] = v / (1 + T.exp(-T(1.702) * v))
            }
        }
    }

    /// Naive reference for `backward`, in any precision (same accumulate semantics).
    public func backwardReference<T: Real & BinaryFloatingPoint>(_ dx: UnsafeMutablePointer<T>, _ dy: UnsafePointer<T>,
                                                                 _ x: UnsafePointer<T>, count: Int, accumulate: Bool = false) {
        for i in 0..<count {
            let v = x[i]
            let d: T
            switch self {
            case .gelu:
                let cdf = (1 + T.erf(v / T(2).squareRoot())) / 2
                let pdf = T.exp(-v * v / 2) / (2 * T.pi).squareRoot()
                d = cdf + v * pdf
            case .quickGELU:
                let s = 1 / (1 + T.exp(-T(1.702) * v))
                d = s + T(1.702) * v * s * (1 - s)
            }
            dx[i] = accumulate ? dx[i] + dy[i] * d : dy[i] * d
        }
    }
}
