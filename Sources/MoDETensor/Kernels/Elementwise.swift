import CMoDEKernels

/// Elementwise arithmetic on flat Float arrays (residual adds, scaling, axpy). Large arrays are
/// processed in parallel chunks. Outputs may alias inputs.
public enum Elementwise {
    /// Elements per parallel chunk.
    static let grain = 65_536

    /// out (count) = a (count) + b (count).
    public static func add(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                           count: Int) {
        chunked(count) { lo, hi in
            var i = lo
            while i + 16 <= hi { store16(out + i, load16(a + i) + load16(b + i)); i += 16 }
            while i < hi { out[i] = a[i] + b[i]; i += 1 }
        }
    }

    /// y (count) += x (count).
    public static func addInPlace(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
        add(y, y, x, count: count)
    }

    /// out (count) = alpha · x (count). In place (out == x) works.
    public static func scale(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ alpha: Float, count: Int) {
        chunked(count) { lo, hi in
            var i = lo
            while i + 16 <= hi { store16(out + i, alpha * load16(x + i)); i += 16 }
            while i < hi { out[i] = alpha * x[i]; i += 1 }
        }
    }

    /// y (count) *= alpha.
    public static func scale(_ y: UnsafeMutablePointer<Float>, by alpha: Float, count: Int) {
        scale(y, y, alpha, count: count)
    }

    /// y (count) += alpha · x (count) (fused multiply-add).
    public static func axpy(_ y: UnsafeMutablePointer<Float>, _ alpha: Float, _ x: UnsafePointer<Float>, count: Int) {
        chunked(count) { lo, hi in mode_axpy(y + lo, alpha, x + lo, hi - lo) }
    }

    /// Runs body(lo, hi) over parallel chunks of 0..<count whose bounds are multiples of 16.
    @inline(__always)
    static func chunked(_ count: Int, _ body: (Int, Int) -> Void) {
        forEachChunk16(count, grain: grain, body)
    }

    /// Naive reference for `add`.
    public static func addReference<T: BinaryFloatingPoint>(_ out: UnsafeMutablePointer<T>, _ a: UnsafePointer<T>,
                                                            _ b: UnsafePointer<T>, count: Int) {
        for i in 0..<count { out[i] = a[i] + b[i] }
    }

    /// Naive reference for `scale`.
    public static func scaleReference<T: BinaryFloatingPoint>(_ out: UnsafeMutablePointer<T>, _ x: UnsafePointer<T>,
                                                              _ alpha: T, count: Int) {
        for i in 0..<count { out[i] = alpha * x[i] }
    }

    /// Naive reference for `axpy`.
    public static func axpyReference<T: BinaryFloatingPoint>(_ y: UnsafeMutablePointer<T>, _ alpha: T,
                                                             _ x: UnsafePointer<T>, count: Int) {
        for i in 0..<count { y[i] += alpha * x[i] }
    }
}
