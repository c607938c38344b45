// The kernels compiled for AVX2 + FMA (x86-64 CPUs since 2013), selected at run time by
// dispatch.c when the CPU has both. Every function defined between the pragmas, the inline
// helpers of simd.h included, gets the target attribute.
#if defined(__x86_64__)
#include <math.h>
#include <stdint.h>
#include <string.h>

#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#include "simd.h"
#define K(name) mode_kernel_##name##_avx2
#include "kernels_tensor.h"
#include "kernels_bert.h"
#include "kernels_cluster.h"
#include "kernels_image.h"
#include "kernels_nn.h"
#pragma clang attribute pop
#endif
