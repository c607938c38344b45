// Float kernels of the MoDE layers, in C so that they can be compiled for AVX2 + FMA per function
// and chosen at run time, with no compiler flags on the package. Each function dispatches to the
// AVX2 + FMA build when the CPU has both (and MODE_KERNELS is not "generic"), else to the build
// for the compiler's default target; both give bit-identical results. The Swift wrappers (and their
// naive references, used by the tests) document what each computes; sizes are element counts,
// rows are [r0, r1), matrices are row-major with `cols` per row.
#ifndef MODE_KERNELS_H
#define MODE_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when the AVX2 + FMA kernels are in use, 0 for the generic ones.
int mode_kernels_level(void);
/// Selects the kernels (1: AVX2 + FMA where the CPU has them, 0: generic); returns the level now in use.
int mode_kernels_set_level(int level);

// Elementwise (y may equal x).
void mode_vexp(float *y, const float *x, long count);
void mode_verf(float *y, const float *x, long count);
void mode_vtanh(float *y, const float *x, long count);
void mode_vsigmoid(float *y, const float *x, long count);
void mode_gelu_forward(float *y, const float *x, long count);
void mode_quick_gelu_forward(float *y, const float *x, long count);
void mode_gelu_backward(float *dx, const float *dy, const float *x, long count, int accumulate);
void mode_quick_gelu_backward(float *dx, const float *dy, const float *x, long count, int accumulate);
void mode_axpy(float *y, float alpha, const float *x, long count);
/// Σ a[i]·b[i] over [lo, hi), in Double (sixteen partial sums, then the tail).
double mode_dot_double(const float *a, const float *b, long lo, long hi);

// Softmax.
void mode_softmax_row(float *y, const float *x, long valid, long cols, float scale, float *max_out, float *sum_out);
void mode_softmax_rows(float *y, const float *x, long r0, long r1, long cols, int causal, float scale);
void mode_softmax_backward_rows(float *dx, const float *dy, const float *y, long r0, long r1, long cols, float scale);
/// In place over a (rows, count) block: ds = p ⊙ (ds − ⟨p, ds⟩) on the first `valid` entries of
/// each row (valid = r + 1 when causal, else count), 0 beyond.
void mode_attention_softmax_backward_rows(float *ds, const float *p, long rows, long count, int causal);

// Layer norm (backward accumulates the parameter sums into pg and pb).
void mode_layernorm_forward_rows(float *y, float *mean, float *rstd, const float *x, const float *gamma,
                                 const float *beta, long r0, long r1, long cols, float eps);
void mode_layernorm_backward_rows(float *dx, float *pg, float *pb, const float *dy, const float *x,
                                  const float *mean, const float *rstd, const float *gamma,
                                  long r0, long r1, long cols, int accumulate);

// L2 normalisation.
void mode_l2norm_forward_rows(float *y, float *norms, const float *x, long r0, long r1, long cols, float eps);
void mode_l2norm_backward_rows(float *dx, const float *dy, const float *y, const float *norms,
                               long r0, long r1, long cols, float eps, int accumulate);

// BERT.
void mode_bias_gelu_rows(float *y, const float *bias, long r0, long r1, long cols);
void mode_bert_softmax_rows(float *x, long rows, long cols);
void mode_bert_attend_direct(float *out, const float *q, const float *k, const float *v, float *work,
                             long L, long D, long ld, long ldOut, float scale);

// Clustering.
float mode_squared_norm(const float *v, long d);
void mode_row_squared_norms(float *out, const float *x, long r0, long r1, long d);
float mode_dot(const float *a, const float *b, long d);
void mode_weighted_add4(float *sum, const float *r0, const float *r1, const float *r2, const float *r3,
                        float w0, float w1, float w2, float w3, long d);

// NN: AdamW over [lo, hi) (PyTorch's semantics; see MoDENN's AdamW) and out[c0..<c1] += Σ_r x[r, c].
void mode_adamw_update(float *p, const float *g, float *m, float *v, const float *mask, long lo, long hi,
                       float b1, float b2, float eps, float decay, float stepSize, float bc2Sqrt);
void mode_add_column_sums(float *out, const float *x, long rows, long cols, long c0, long c1);

// Image resampling (22-bit fixed point).
void mode_resample_horizontal(uint8_t *dst, const uint8_t *src, long srcStride, long rows,
                              const int32_t *start, const int32_t *count, const int32_t *weights, long taps,
                              long outCount, long startBias, int lastRowExact);
void mode_resample_vertical(uint8_t *dst, const uint8_t *src, long srcStride, const int32_t *weights,
                            long taps, long length);

#ifdef __cplusplus
}
#endif
#endif
