// Vector types and helpers shared by the kernel bodies (included by each instruction-set variant).
// Everything here is `static inline` with always_inline, so each variant gets its own copy
// compiled for its own target, and even unoptimised builds inline the helpers.
//
// Results must be identical in every variant and identical to the Swift SIMD code these kernels
// replaced, so: no floating-point contraction (a fused multiply-add happens only where `vfma`
// is written), horizontal sums run lane by lane in order, lane selection is a bit select, and a
// vector is negated as 0 − x (as Swift's SIMD prefix minus is: it differs from −x for ±0 and NaN).
#ifndef MODE_KERNELS_SIMD_H
#define MODE_KERNELS_SIMD_H

#include <stdint.h>
#include <string.h>

#pragma clang fp contract(off)
#pragma clang diagnostic ignored "-Wpsabi"

#define MK_INLINE static inline __attribute__((always_inline))

typedef float v16f __attribute__((ext_vector_type(16)));
typedef int32_t v16i __attribute__((ext_vector_type(16)));
typedef uint32_t v16u __attribute__((ext_vector_type(16)));
typedef double v16d __attribute__((ext_vector_type(16)));
typedef float v8f __attribute__((ext_vector_type(8)));
typedef int32_t v8i __attribute__((ext_vector_type(8)));
typedef uint32_t v8u __attribute__((ext_vector_type(8)));
typedef uint8_t v8b __attribute__((ext_vector_type(8)));
typedef int32_t v4i __attribute__((ext_vector_type(4)));
typedef uint32_t v4u __attribute__((ext_vector_type(4)));
typedef uint8_t v4b __attribute__((ext_vector_type(4)));

// MARK: loads and stores (any alignment)

MK_INLINE v16f ld16(const float *p) { v16f v; memcpy(&v, p, sizeof v); return v; }
MK_INLINE void st16(float *p, v16f v) { memcpy(p, &v, sizeof v); }
MK_INLINE v8f ld8(const float *p) { v8f v; memcpy(&v, p, sizeof v); return v; }
MK_INLINE void st8(float *p, v8f v) { memcpy(p, &v, sizeof v); }

/// Lanes 0..<n (n < 16) from p; the other lanes `pad`.
MK_INLINE v16f ld16_part(const float *p, long n, float pad) {
    v16f v = (v16f)pad;
    memcpy(&v, p, (size_t)n * sizeof(float));
    return v;
}

/// Lanes 0..<n (n < 16) of v to p.
MK_INLINE void st16_part(float *p, v16f v, long n) { memcpy(p, &v, (size_t)n * sizeof(float)); }

/// Full vector when n ≥ 16, else the first n lanes padded with 0.
MK_INLINE v16f ld16_upto(const float *p, long n) { return n >= 16 ? ld16(p) : ld16_part(p, n, 0); }
MK_INLINE void st16_upto(float *p, v16f v, long n) { if (n >= 16) st16(p, v); else st16_part(p, v, n); }

// MARK: lane arithmetic

MK_INLINE v16i bits16(v16f x) { return (v16i)x; }
MK_INLINE v16f float16(v16i b) { return (v16f)b; }

/// Lanes of a where mask is set (all ones), else lanes of b.
MK_INLINE v16f sel16(v16i mask, v16f a, v16f b) { return (v16f)((mask & (v16i)a) | (~mask & (v16i)b)); }

/// c + a·b, fused.
MK_INLINE v16f vfma(v16f a, v16f b, v16f c) { return __builtin_elementwise_fma(a, b, c); }
MK_INLINE v8f vfma8(v8f a, v8f b, v8f c) { return __builtin_elementwise_fma(a, b, c); }

/// The lanes added in order 0, 1, …, 15, starting from −0.
MK_INLINE float hsum16(v16f v) {
    float s = -0.0f;
    for (int i = 0; i < 16; i++) s += v[i];
    return s;
}

MK_INLINE float hsum8(v8f v) {
    float s = -0.0f;
    for (int i = 0; i < 8; i++) s += v[i];
    return s;
}

MK_INLINE double hsum16d(v16d v) {
    double s = -0.0;
    for (int i = 0; i < 16; i++) s += v[i];
    return s;
}

/// maximum(x, y): x when x > y or y is NaN, else y.
MK_INLINE float fmaximum(float x, float y) { return (x > y || y != y) ? x : y; }

/// The largest lane, reduced in lane order with `fmaximum`, starting from lane 0.
MK_INLINE float hmax16(v16f v) {
    float m = v[0];
    for (int i = 0; i < 16; i++) m = fmaximum(m, v[i]);
    return m;
}

/// Lane-wise maximum that ignores NaN in b (keeps a there).
MK_INLINE v16f vmax16(v16f a, v16f b) { return sel16(b > a, b, a); }

/// x limited to [lo, hi]; NaN stays NaN.
MK_INLINE v16f clamp16(v16f x, float lo, float hi) {
    v16f y = sel16(x < lo, (v16f)lo, x);
    return sel16(x > hi, (v16f)hi, y);
}

/// Lane indices 0…15.
MK_INLINE v16i lane_index16(void) { return (v16i){0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}; }

// MARK: elementary functions (the same polynomials and operation order as VectorMath.swift)

/// eˣ for x in [−88, 88.8] (no range or NaN handling).
MK_INLINE v16f vexp_in_range(v16f x) {
    const float log2e = 1.44269504f;
    const float ln2Hi = 0.693359375f;
    const float ln2Lo = -2.1219444e-4f;
    const float magic = 12582912.0f;
    v16f t = x * log2e + magic;
    v16f n = t - magic;
    v16f r = vfma(n, (v16f)(-ln2Hi), x);
    r = vfma(n, (v16f)(-ln2Lo), r);
    v16f p = vfma((v16f)1.990757e-4f, r, (v16f)1.3933643e-3f);
    p = vfma(p, r, (v16f)8.333286e-3f);
    p = vfma(p, r, (v16f)4.1666467e-2f);
    p = vfma(p, r, (v16f)1.6666667e-1f);
    p = vfma(p, r, (v16f)0.5f);
    v16f y = vfma(r * r, p, r) + 1.0f;
    v16u ni = (v16u)bits16(t) - (v16u)bits16((v16f)magic);
    v16u n1 = (v16u)((v16i)ni >> 1);
    v16u n2 = ni - n1;
    return y * (v16f)((n1 + 127u) << 23) * (v16f)((n2 + 127u) << 23);
}

/// eˣ; below −87.34 gives 0, above 88.72 +∞.
MK_INLINE v16f vexp(v16f x) {
    v16f y = vexp_in_range(clamp16(x, -88.0f, 88.8f));
    return sel16(x < -87.33654f, (v16f)0.0f, y);
}

MK_INLINE v16f vabs_sign(v16f x, v16i *sign) {
    v16i b = bits16(x);
    *sign = b & (v16i)(int32_t)0x80000000u;
    return float16(b & (v16i)0x7FFFFFFF);
}

MK_INLINE v16f verf(v16f x) {
    v16i sign;
    v16f a = vabs_sign(x, &sign);
    v16f t = a * a;
    v16f p = vfma((v16f)8.397952e-5f, t, (v16f)-8.1498484e-4f);
    p = vfma(p, t, (v16f)5.2017206e-3f);
    p = vfma(p, t, (v16f)-2.6859704e-2f);
    p = vfma(p, t, (v16f)1.1283702e-1f);
    p = vfma(p, t, (v16f)-3.7612635e-1f);
    p = vfma(p, t, (v16f)1.2837917e-1f);
    v16f small = vfma(a, p, a);
    v16f ac = clamp16(a, 0.921875f, 3.95f);
    v16f u = ac - 2.4f;
    v16f q = vfma((v16f)-4.875802e-7f, u, (v16f)2.2193547e-6f);
    q = vfma(q, u, (v16f)-5.3685553e-6f);
    q = vfma(q, u, (v16f)1.8199771e-5f);
    q = vfma(q, u, (v16f)-7.3031406e-5f);
    q = vfma(q, u, (v16f)2.5953932e-4f);
    q = vfma(q, u, (v16f)-8.7398884e-4f);
    q = vfma(q, u, (v16f)2.8663764e-3f);
    q = vfma(q, u, (v16f)-9.0659475e-3f);
    q = vfma(q, u, (v16f)2.7494397e-2f);
    q = vfma(q, u, (v16f)-7.958527e-2f);
    q = vfma(q, u, (v16f)2.1849872e-1f);
    v16f x2 = ac * ac;
    v16f x2err = vfma(ac, ac, 0.0f - x2);
    v16f erfc = vexp_in_range(0.0f - x2) * q;
    erfc = vfma(0.0f - erfc, x2err, erfc);
    v16f y = 1.0f - erfc;
    y = sel16(a < 0.921875f, small, y);
    y = sel16(a >= 3.95f, (v16f)1.0f, y);
    return float16(bits16(y) | sign);
}

MK_INLINE v16f vtanh(v16f x) {
    v16i sign;
    v16f a = vabs_sign(x, &sign);
    v16f t = a * a;
    v16f q = vfma((v16f)2.2096618e-3f, t, (v16f)-8.254399e-3f);
    q = vfma(q, t, (v16f)2.1733792e-2f);
    q = vfma(q, t, (v16f)-5.3953223e-2f);
    q = vfma(q, t, (v16f)1.3333261e-1f);
    q = vfma(q, t, (v16f)-3.333333e-1f);
    v16f small = vfma(a * t, q, a);
    v16f y = 1.0f - 2.0f / (vexp(a + a) + 1.0f);
    y = sel16(a < 0.625f, small, y);
    return float16(bits16(y) | sign);
}

MK_INLINE v16f vsigmoid(v16f x) { return 1.0f / (1.0f + vexp(0.0f - x)); }

#endif
