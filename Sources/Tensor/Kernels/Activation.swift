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
        switch self {
        case .gelu:
            Activation.map(y, x, count: count) { v in Activation.geluForward(v) }
        case .quickGELU:
            Activation.map(y, x, count: count) { v in v * VectorMath.sigmoid(1.702 * v) }
        }
    }

    /// Backward of `forward`: dx (count) = dy (count) ⊙ act′(x (count)), written, or added to dx
    /// when `accumulate`. dx may alias dy.
    public func backward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>,
                         count: Int, accumulate: Bool = false) {
        switch self {
        case .gelu:
            Activation.map2(dx, dy, x, count: count, accumulate: accumulate) { d, v in d * Activation.geluDerivative(v) }
        case .quickGELU:
            Activation.map2(dx, dy, x, count: count, accumulate: accumulate) { d, v in
                let s = VectorMath.sigmoid(1.702 * v)
                // d/dx x·s(1.702x) = s + 1.702 · x · s · (1 − s)
                return d * s.addingProduct(1.702 * v * s, 1 - s)
            }
        }
    }

    @inline(__always)
    static func geluForward(_ v: SIMD16<Float>) -> SIMD16<Float> {
        // Same order of operations as PyTorch: x · 0.5 · (1 + erf(x · √½)).
        v * 0.5 * (1 + VectorMath.erf(v * 0.707_106_77))
    }

    @inline(__always)
    static func geluDerivative(_ v: SIMD16<Float>) -> SIMD16<Float> {
        // Φ(x) + x · φ(x), φ(x) = e^(−x²/2) / √(2π).
        let cdf = 0.5 * (1 + VectorMath.erf(v * 0.707_106_77))
        let pdf = VectorMath.exp(-0.5 * v * v) * 0.398_942_28
        return cdf.addingProduct(v, pdf)
    }

    /// y = f(x) over `count` elements, in parallel chunks.
    @inline(__always)
    static func map(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int,
                    _ f: (SIMD16<Float>) -> SIMD16<Float>) {
        Parallel.forEach((count + 15) / 16, grain: grain / 16) { blocks in
            let lo = blocks.lowerBound * 16, hi = min(count, blocks.upperBound * 16)
            var i = lo
            while i + 16 <= hi {
                store16(y + i, f(load16(x + i)))
                i += 16
            }
            if i < hi { storePartial(y + i, f(loadPartial(x + i, hi - i)), hi - i) }
        }
    }

    /// out = f(a, b) (or out += f(a, b)) over `count` elements, in parallel chunks.
    @inline(__always)
    static func map2(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                     count: Int, accumulate: Bool, _ f: (SIMD16<Float>, SIMD16<Float>) -> SIMD16<Float>) {
        Parallel.forEach((count + 15) / 16, grain: grain / 16) { blocks in
            let lo = blocks.lowerBound * 16, hi = min(count, blocks.upperBound * 16)
            var i = lo
            while i + 16 <= hi {
                var v = f(load16(a + i), load16(b + i))
                if accumulate { v += load16(out + i) }
                store16(out + i, v)
                i += 16
            }
            if i < hi {
                let n = hi - i
                var v = f(loadPartial(a + i, n), loadPartial(b + i, n))
                if accumulate { v += loadPartial(out + i, n) }
                storePartial(out + i, v, n)
            }
        }
    }

    /// Naive reference for `forward`, in any precision.
    public func forwardReference<T: ReferenceReal>(_ y: UnsafeMutablePointer<T>, _ x: UnsafePointer<T>, count: Int) {
        for i in 0..<count {
            let v = x[i]
            switch self {
            case .gelu: y[i] = v / 2 * (1 + T.refErf(v / T(2).squareRoot()))
            case .quickGELU: y[i] = v / (1 + T.refExp(-T(1.702) * v))
            }
        }
    }

    /// Naive reference for `backward`, in any precision (same accumulate semantics).
    public func backwardReference<T: ReferenceReal>(_ dx: UnsafeMutablePointer<T>, _ dy: UnsafePointer<T>,
                                                    _ x: UnsafePointer<T>, count: Int, accumulate: Bool = false) {
        for i in 0..<count {
            let v = x[i]
            let d: T
            switch self {
            case .gelu:
                let cdf = (1 + T.refErf(v / T(2).squareRoot())) / 2
                let pdf = T.refExp(-v * v / 2) / (2 * T.pi).squareRoot()
                d = cdf + v * pdf
            case .quickGELU:
                let s = 1 / (1 + T.refExp(-T(1.702) * v))
                d = s + T(1.702) * v * s * (1 - s)
            }
            dx[i] = accumulate ? dx[i] + dy[i] * d : dy[i] * d
        }
    }
}
