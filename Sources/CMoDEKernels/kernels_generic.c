// The kernels for any CPU the compiler targets by default (on x86-64: SSE2; fused multiply-adds
// without FMA hardware go through libm's fmaf, which gives the same, exact results).
#include <math.h>
#include "simd.h"

#define K(name) mode_kernel_##name##_generic
#include "kernels_tensor.h"
#include "kernels_bert.h"
#include "kernels_cluster.h"
#include "kernels_image.h"
#include "kernels_nn.h"
