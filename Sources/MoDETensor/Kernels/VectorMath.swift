import CMoDEKernels
import Foundation

/// Vectorised elementary functions on SIMD16<Float> (exp, erf, tanh, sigmoid), each within
/// about 1–2 ulp of the correctly rounded value (tests state the measured bounds), with SIMD8
/// overloads. The polynomial coefficients are least-squares (near-minimax) fits made for this
/// file; they are not taken from a library. NaN inputs give NaN (it flows through the arithmetic:
/// every range test below is false for NaN, so no lane is replaced).
///
/// The array functions, and the kernels of this package, run the same polynomials in C
/// (CMoDEKernels), compiled for AVX2/FMA and chosen at run time; their results are bit-identical
/// to these vector functions (a test checks).
///
/// Performance notes (measured; each point made a 2–100× difference):
/// - The code is written on the concrete type: the standard library's SIMD operations compile to
///   vector instructions for concrete vector types, but code generic over `SIMD` (even when
///   specialised) and `clamped` / `pointwiseMin` / `pointwiseMax` fall back to scalar loops.
/// - Lane selection uses `replace(with:where:)`, which compiles to blends; a hand-written
///   bit-mask select compiles to scalar mask shuffling.
/// - The functions are `@_transparent`: each `replace` is a 16-lane loop until LLVM vectorises
///   it, so the optimizer sees these bodies as large and stops inlining `@inline(__always)`
///   functions into kernels that use several of them; an out-of-line call per vector halves the
///   speed (constants are re-materialised on every call).
public enum VectorMath {
    public typealias V = SIMD16<Float>
    public typealias Bits = SIMD16<Int32>

    // MARK: helpers

    @_transparent @usableFromInline
    static func bits(_ x: V) -> Bits { unsafeBitCast(x, to: Bits.self) }

    @_transparent @usableFromInline
    static func float(_ b: Bits) -> V { unsafeBitCast(b, to: V.self) }

    /// c + a·b, fused.
    @_transparent @usableFromInline
    static func fma(_ a: V, _ b: V, _ c: Float) -> V { V(repeating: c).addingProduct(a, b) }

    /// x limited to [lo, hi]; NaN stays NaN.
    @_transparent @usableFromInline
    static func clamp(_ x: V, _ lo: Float, _ hi: Float) -> V {
        var y = x
        y.replace(with: lo, where: x .< lo)
        y.replace(with: hi, where: x .> hi)
        return y
    }

    /// Lane-wise maximum that ignores NaN in `b` (keeps `a` there).
    @_transparent
    public static func max(_ a: V, _ b: V) -> V {
        var y = a
        y.replace(with: b, where: b .> a)
        return y
    }

    /// |x| and the sign bits of x.
    @_transparent @usableFromInline
    static func splitSign(_ x: V) -> (magnitude: V, sign: Bits) {
        let b = bits(x)
        return (float(b & Bits(repeating: 0x7FFF_FFFF)), b & Bits(repeating: Int32(bitPattern: 0x8000_0000)))
    }

    // MARK: exp

    /// eˣ per lane. Results below the smallest normal Float (x < −87.34) are flushed to 0;
    /// x > 88.72 gives +∞.
    @_transparent
    public static func exp(_ x: V) -> V {
        var y = expInRange(clamp(x, -88, 88.8))
        y.replace(with: 0, where: x .< -87.336_54)
        return y
    }

    /// eˣ for x in [−88, 88.8] (no range or NaN handling; the caller guarantees the range).
    @_transparent @usableFromInline
    static func expInRange(_ x: V) -> V {
        let log2e: Float = 1.442_695_04
        // ln 2 split so that n·ln2Hi is exact for |n| ≤ 256 (Cody–Waite reduction).
        let ln2Hi: Float = 0.693_359_375
        let ln2Lo: Float = -2.121_944_4e-4
        // Round x·log2(e) to the nearest integer n by adding 1.5·2²³: n sits in the low bits.
        let magic: Float = 12_582_912
        let t = x * log2e + magic
        let n = t - magic
        var r = x.addingProduct(n, V(repeating: -ln2Hi))
        r = r.addingProduct(n, V(repeating: -ln2Lo))
        // eʳ = 1 + r + r²·P(r) on |r| ≤ ln2 / 2.
        var p = fma(V(repeating: 1.990_757e-4), r, 1.393_364_3e-3)
        p = fma(p, r, 8.333_286e-3)
        p = fma(p, r, 4.166_646_7e-2)
        p = fma(p, r, 1.666_666_7e-1)
        p = fma(p, r, 0.5)
        let y = r.addingProduct(r * r, p) + 1
        // Scale by 2ⁿ as 2^(n/2)·2^(n−n/2) so n = 128 (x near the overflow edge) stays exact.
        let ni = bits(t) &- bits(V(repeating: magic))
        let n1 = ni &>> 1
        let n2 = ni &- n1
        return y * float((n1 &+ 127) &<< 23) * float((n2 &+ 127) &<< 23)
    }

    // MARK: erf

    /// erf(x) per lane, within about 1.1 ulp (measured against a correctly rounded reference).
    @_transparent
    public static func erf(_ x: V) -> V {
        let (a, sign) = splitSign(x)
        // |x| < 0.921875: erf(x) = x + x·P(x²).
        let t = a * a
        var p = fma(V(repeating: 8.397_952e-5), t, -8.149_848_4e-4)
        p = fma(p, t, 5.201_720_6e-3)
        p = fma(p, t, -2.685_970_4e-2)
        p = fma(p, t, 1.128_370_2e-1)
        p = fma(p, t, -3.761_263_5e-1)
        p = fma(p, t, 1.283_791_7e-1)
        let small = a.addingProduct(a, p)
        // 0.921875 ≤ |x| < 3.95: erfc(x) = e^(−x²)·R(x), R a polynomial in x − 2.4; erf = 1 − erfc.
        // Above 3.95 erf rounds to 1.
        let ac = clamp(a, 0.921_875, 3.95)
        let u = ac - 2.4
        var q = fma(V(repeating: -4.875_802e-7), u, 2.219_354_7e-6)
        q = fma(q, u, -5.368_555_3e-6)
        q = fma(q, u, 1.819_977_1e-5)
        q = fma(q, u, -7.303_140_6e-5)
        q = fma(q, u, 2.595_393_2e-4)
        q = fma(q, u, -8.739_888_4e-4)
        q = fma(q, u, 2.866_376_4e-3)
        q = fma(q, u, -9.065_947_5e-3)
        q = fma(q, u, 2.749_439_7e-2)
        q = fma(q, u, -7.958_527e-2)
        q = fma(q, u, 2.184_987_2e-1)
        let x2 = ac * ac
        let x2err = (-x2).addingProduct(ac, ac)  // ac² = x2 + x2err exactly
        var erfc = expInRange(-x2) * q  // −x2 ∈ [−15.7, −0.84]
        erfc = erfc.addingProduct(-erfc, x2err)  // · e^(−x2err) ≈ 1 − x2err
        var y = 1 - erfc
        y.replace(with: small, where: a .< 0.921_875)
        y.replace(with: 1, where: a .>= 3.95)
        y = float(bits(y) | sign)
        return y
    }

    // MARK: tanh, sigmoid

    /// tanh(x) per lane.
    @_transparent
    public static func tanh(_ x: V) -> V {
        let (a, sign) = splitSign(x)
        // |x| < 0.625: tanh(x) = x + x³·Q(x²).
        let t = a * a
        var q = fma(V(repeating: 2.209_661_8e-3), t, -8.254_399e-3)
        q = fma(q, t, 2.173_379_2e-2)
        q = fma(q, t, -5.395_322_3e-2)
        q = fma(q, t, 1.333_326_1e-1)
        q = fma(q, t, -3.333_333e-1)
        let small = a.addingProduct(a * t, q)
        // Otherwise tanh(|x|) = 1 − 2 / (e^(2|x|) + 1) (e^(2|x|) = ∞ gives 1).
        var y = 1 - 2 / (exp(a + a) + 1)
        y.replace(with: small, where: a .< 0.625)
        y = float(bits(y) | sign)
        return y
    }

    /// 1 / (1 + e^(−x)) per lane.
    @_transparent
    public static func sigmoid(_ x: V) -> V {
        1 / (1 + exp(-x))
    }

    // MARK: SIMD8 overloads (through the 16-wide code)

    /// eˣ per lane.
    @_transparent
    public static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> { exp(V(lowHalf: x, highHalf: x)).lowHalf }
    /// erf(x) per lane.
    @_transparent
    public static func erf(_ x: SIMD8<Float>) -> SIMD8<Float> { erf(V(lowHalf: x, highHalf: x)).lowHalf }
    /// tanh(x) per lane.
    @_transparent
    public static func tanh(_ x: SIMD8<Float>) -> SIMD8<Float> { tanh(V(lowHalf: x, highHalf: x)).lowHalf }
    /// 1 / (1 + e^(−x)) per lane.
    @_transparent
    public static func sigmoid(_ x: SIMD8<Float>) -> SIMD8<Float> { sigmoid(V(lowHalf: x, highHalf: x)).lowHalf }

    // MARK: arrays

    /// y (count) = eˣ (count) elementwise; in place (y == x) works.
    public static func exp(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
        mode_vexp(y, x, count)
    }

    /// y (count) = erf(x (count)) elementwise; in place (y == x) works.
    public static func erf(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
        mode_verf(y, x, count)
    }

    /// y (count) = tanh(x (count)) elementwise; in place (y == x) works.
    public static func tanh(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
        mode_vtanh(y, x, count)
    }

    /// y (count) = sigmoid(x (count)) elementwise; in place (y == x) works.
    public static func sigmoid(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
        mode_vsigmoid(y, x, count)
    }
}
