// Run-time choice between the generic and the AVX2 + FMA kernels.
#include <stdlib.h>
#include <string.h>
#include "mode_kernels.h"

/// -1 until first use; then 1 (AVX2 + FMA) or 0 (generic).
static int level = -1;

static int cpu_has_avx2_fma(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

static int active(void) {
    int l = __atomic_load_n(&level, __ATOMIC_RELAXED);
    if (l >= 0) return l;
    const char *env = getenv("MODE_KERNELS");
    l = (env && strcmp(env, "generic") == 0) ? 0 : cpu_has_avx2_fma();
    __atomic_store_n(&level, l, __ATOMIC_RELAXED);
    return l;
}

int mode_kernels_level(void) { return active(); }

int mode_kernels_set_level(int l) {
    l = (l >= 1 && cpu_has_avx2_fma()) ? 1 : 0;
    __atomic_store_n(&level, l, __ATOMIC_RELAXED);
    return l;
}

#if defined(__x86_64__)
#define MK_PICK(name, args) (active() ? mode_kernel_##name##_avx2 args : mode_kernel_##name##_generic args)
#define MK_DECLARE(ret, name, params) ret mode_kernel_##name##_generic params; ret mode_kernel_##name##_avx2 params;
#else
#define MK_PICK(name, args) (mode_kernel_##name##_generic args)
#define MK_DECLARE(ret, name, params) ret mode_kernel_##name##_generic params;
#endif

/// Declares both variants of a kernel and defines the public function that picks one.
#define MK_VOID(name, params, args) \
    MK_DECLARE(void, name, params)  \
    void mode_##name params { MK_PICK(name, args); }
#define MK_VALUE(ret, name, params, args) \
    MK_DECLARE(ret, name, params)         \
    ret mode_##name params { return MK_PICK(name, args); }

MK_VOID(vexp, (float *y, const float *x, long n), (y, x, n))
MK_VOID(verf, (float *y, const float *x, long n), (y, x, n))
MK_VOID(vtanh, (float *y, const float *x, long n), (y, x, n))
MK_VOID(vsigmoid, (float *y, const float *x, long n), (y, x, n))
MK_VOID(gelu_forward, (float *y, const float *x, long n), (y, x, n))
MK_VOID(quick_gelu_forward, (float *y, const float *x, long n), (y, x, n))
MK_VOID(gelu_backward, (float *dx, const float *dy, const float *x, long n, int acc), (dx, dy, x, n, acc))
MK_VOID(quick_gelu_backward, (float *dx, const float *dy, const float *x, long n, int acc), (dx, dy, x, n, acc))
MK_VOID(axpy, (float *y, float alpha, const float *x, long n), (y, alpha, x, n))
MK_VALUE(double, dot_double, (const float *a, const float *b, long lo, long hi), (a, b, lo, hi))

MK_VOID(softmax_row, (float *y, const float *x, long n, long cols, float scale, float *mx, float *sum),
        (y, x, n, cols, scale, mx, sum))
MK_VOID(softmax_rows, (float *y, const float *x, long r0, long r1, long cols, int causal, float scale),
        (y, x, r0, r1, cols, causal, scale))
MK_VOID(softmax_backward_rows, (float *dx, const float *dy, const float *y, long r0, long r1, long cols, float scale),
        (dx, dy, y, r0, r1, cols, scale))
MK_VOID(attention_softmax_backward_rows, (float *ds, const float *p, long rows, long count, int causal),
        (ds, p, rows, count, causal))

MK_VOID(layernorm_forward_rows,
        (float *y, float *mean, float *rstd, const float *x, const float *gamma, const float *beta,
         long r0, long r1, long cols, float eps),
        (y, mean, rstd, x, gamma, beta, r0, r1, cols, eps))
MK_VOID(layernorm_backward_rows,
        (float *dx, float *pg, float *pb, const float *dy, const float *x, const float *mean, const float *rstd,
         const float *gamma, long r0, long r1, long cols, int acc),
        (dx, pg, pb, dy, x, mean, rstd, gamma, r0, r1, cols, acc))

MK_VOID(l2norm_forward_rows, (float *y, float *norms, const float *x, long r0, long r1, long cols, float eps),
        (y, norms, x, r0, r1, cols, eps))
MK_VOID(l2norm_backward_rows,
        (float *dx, const float *dy, const float *y, const float *norms, long r0, long r1, long cols, float eps, int acc),
        (dx, dy, y, norms, r0, r1, cols, eps, acc))

MK_VOID(bias_gelu_rows, (float *y, const float *bias, long r0, long r1, long n), (y, bias, r0, r1, n))
MK_VOID(bert_softmax_rows, (float *x, long rows, long n), (x, rows, n))
MK_VOID(bert_attend_direct,
        (float *out, const float *q, const float *k, const float *v, float *work, long L, long D, long ld, long ldOut,
         float scale),
        (out, q, k, v, work, L, D, ld, ldOut, scale))

MK_VALUE(float, squared_norm, (const float *v, long d), (v, d))
MK_VOID(row_squared_norms, (float *out, const float *x, long r0, long r1, long d), (out, x, r0, r1, d))
MK_VALUE(float, dot, (const float *a, const float *b, long d), (a, b, d))
MK_VOID(weighted_add4,
        (float *sum, const float *r0, const float *r1, const float *r2, const float *r3, float w0, float w1, float w2,
         float w3, long d),
        (sum, r0, r1, r2, r3, w0, w1, w2, w3, d))

MK_VOID(resample_horizontal,
        (uint8_t *dst, const uint8_t *src, long srcStride, long rows, const int32_t *start, const int32_t *count,
         const int32_t *weights, long taps, long outCount, long startBias, int lastRowExact),
        (dst, src, srcStride, rows, start, count, weights, taps, outCount, startBias, lastRowExact))
MK_VOID(resample_vertical,
        (uint8_t *dst, const uint8_t *src, long srcStride, const int32_t *weights, long taps, long length),
        (dst, src, srcStride, weights, taps, length))

MK_VOID(adamw_update,
        (float *p, const float *g, float *m, float *v, const float *mask, long lo, long hi, float b1, float b2, float eps,
         float decay, float stepSize, float bc2Sqrt),
        (p, g, m, v, mask, lo, hi, b1, b2, eps, decay, stepSize, bc2Sqrt))
MK_VOID(add_column_sums, (float *out, const float *x, long rows, long cols, long c0, long c1), (out, x, rows, cols, c0, c1))
