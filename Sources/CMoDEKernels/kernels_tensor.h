// Kernel bodies for MoDETensor (softmax, layer norm, activations, L2 normalise, reductions,
// attention rows). Included once per instruction-set variant with K(name) naming the variant's
// function; see mode_kernels.h for what each computes. Each is a line-by-line port of the Swift
// SIMD16 code it replaced (same vectors, same order of operations), so results are bit-identical.

// MARK: elementwise functions

#define MK_MAP(NAME, EXPR)                                                   \
    void K(NAME)(float *y, const float *x, long count) {                     \
        for (long i = 0; i < count; i += 16) {                               \
            long m = count - i;                                              \
            v16f v = ld16_upto(x + i, m);                                    \
            v16f r = EXPR;                                                   \
            st16_upto(y + i, r, m);                                          \
        }                                                                    \
    }

MK_MAP(vexp, vexp(v))
MK_MAP(verf, verf(v))
MK_MAP(vtanh, vtanh(v))
MK_MAP(vsigmoid, vsigmoid(v))
MK_MAP(gelu_forward, v * 0.5f * (1.0f + verf(v * 0.70710677f)))
MK_MAP(quick_gelu_forward, v * vsigmoid(1.702f * v))
#undef MK_MAP

void K(gelu_backward)(float *dx, const float *dy, const float *x, long n, int accumulate) {
    for (long i = 0; i < n; i += 16) {
        long m = n - i;
        v16f v = ld16_upto(x + i, m), d = ld16_upto(dy + i, m);
        v16f cdf = 0.5f * (1.0f + verf(v * 0.70710677f));
        v16f pdf = vexp(-0.5f * v * v) * 0.39894228f;
        v16f r = d * vfma(v, pdf, cdf);
        if (accumulate) r += ld16_upto(dx + i, m);
        st16_upto(dx + i, r, m);
    }
}

void K(quick_gelu_backward)(float *dx, const float *dy, const float *x, long n, int accumulate) {
    for (long i = 0; i < n; i += 16) {
        long m = n - i;
        v16f v = ld16_upto(x + i, m), d = ld16_upto(dy + i, m);
        v16f s = vsigmoid(1.702f * v);
        v16f r = d * vfma(1.702f * v * s, 1.0f - s, s);
        if (accumulate) r += ld16_upto(dx + i, m);
        st16_upto(dx + i, r, m);
    }
}

void K(axpy)(float *y, float alpha, const float *x, long count) {
    long i = 0;
    for (; i + 16 <= count; i += 16) st16(y + i, vfma((v16f)alpha, ld16(x + i), ld16(y + i)));
    for (; i < count; i++) y[i] = __builtin_fmaf(alpha, x[i], y[i]);
}

double K(dot_double)(const float *a, const float *b, long lo, long hi) {
    v16d s = (v16d)0.0;
    long i = lo;
    for (; i + 16 <= hi; i += 16) {
        v16d da = __builtin_convertvector(ld16(a + i), v16d), db = __builtin_convertvector(ld16(b + i), v16d);
        s = __builtin_elementwise_fma(da, db, s);
    }
    double t = hsum16d(s);
    for (; i < hi; i++) t += (double)a[i] * (double)b[i];
    return t;
}

// MARK: softmax

void K(softmax_row)(float *y, const float *x, long n, long cols, float scale, float *max_out, float *sum_out) {
    // Vectors cover 0..<n in steps of 16; entries past n are masked (−∞ for the max, 0 for the
    // sum and the output), and only lanes inside the row are read or written.
    const v16i lane = lane_index16();
    v16f m16 = (v16f)(-__builtin_inff());
    for (long i = 0; i < n; i += 16) {
        v16f v = ld16_upto(x + i, cols - i) * scale;
        if (n - i < 16) v = sel16(lane >= (int32_t)(n - i), (v16f)(-__builtin_inff()), v);
        m16 = vmax16(m16, v);
    }
    float mx = hmax16(m16);
    v16f m = (v16f)mx;
    v16f s16 = (v16f)0.0f;
    long i = 0;
    for (; i < n; i += 16) {
        long inRow = cols - i;
        v16f e = vexp(ld16_upto(x + i, inRow) * scale - m);
        if (n - i < 16) e = sel16(lane >= (int32_t)(n - i), (v16f)0.0f, e);
        st16_upto(y + i, e, inRow);
        s16 += e;
    }
    float sum = hsum16(s16);
    float inv = 1.0f / sum;
    for (i = 0; i < n; i += 16) {
        long inRow = cols - i;
        st16_upto(y + i, ld16_upto(y + i, inRow) * inv, inRow);
    }
    if (i < cols) memset(y + i, 0, (size_t)(cols - i) * sizeof(float));
    if (max_out) *max_out = mx;
    if (sum_out) *sum_out = sum;
}

void K(softmax_rows)(float *y, const float *x, long r0, long r1, long cols, int causal, float scale) {
    for (long r = r0; r < r1; r++) {
        long valid = causal ? r % cols + 1 : cols;
        K(softmax_row)(y + r * cols, x + r * cols, valid, cols, scale, 0, 0);
    }
}

void K(softmax_backward_rows)(float *dx, const float *dy, const float *y, long r0, long r1, long cols, float scale) {
    long full = cols & ~15L, tail = cols - full;
    for (long r = r0; r < r1; r++) {
        const float *dyr = dy + r * cols, *yr = y + r * cols;
        float *dxr = dx + r * cols;
        v16f d16 = (v16f)0.0f;
        for (long i = 0; i < full; i += 16) d16 = vfma(ld16(dyr + i), ld16(yr + i), d16);
        if (tail > 0) d16 = vfma(ld16_part(dyr + full, tail, 0), ld16_part(yr + full, tail, 0), d16);
        v16f dot = (v16f)hsum16(d16);
        for (long i = 0; i < full; i += 16) st16(dxr + i, scale * ld16(yr + i) * (ld16(dyr + i) - dot));
        if (tail > 0)
            st16_part(dxr + full, scale * ld16_part(yr + full, tail, 0) * (ld16_part(dyr + full, tail, 0) - dot), tail);
    }
}

/// The lanes summed by halving the vector (Attention's order).
MK_INLINE float hsum16_tree(v16f v) {
    v8f a = v.lo + v.hi;
    float __attribute__((ext_vector_type(4))) b = a.lo + a.hi;
    float __attribute__((ext_vector_type(2))) c = b.lo + b.hi;
    return c[0] + c[1];
}

void K(attention_softmax_backward_rows)(float *ds, const float *p, long rows, long count, int causal) {
    for (long r = 0; r < rows; r++) {
        float *d = ds + r * count;
        const float *pr = p + r * count;
        long n = causal ? r + 1 : count;
        long whole = n & ~15L;
        v16f d16 = (v16f)0.0f;
        for (long j = 0; j < whole; j += 16) d16 += ld16(d + j) * ld16(pr + j);
        float dot = hsum16_tree(d16);
        for (long t = whole; t < n; t++) dot += d[t] * pr[t];
        for (long j = 0; j < whole; j += 16) st16(d + j, ld16(pr + j) * (ld16(d + j) - dot));
        for (long t = whole; t < n; t++) d[t] = pr[t] * (d[t] - dot);
        for (long t = n; t < count; t++) d[t] = 0;
    }
}

// MARK: layer norm

void K(layernorm_forward_rows)(float *y, float *mean, float *rstd, const float *x, const float *gamma,
                               const float *beta, long r0, long r1, long cols, float eps) {
    long full = cols & ~15L, tail = cols - full;
    float invCols = 1.0f / (float)cols;
    const v16i lane = lane_index16();
    for (long r = r0; r < r1; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        v16f s16 = (v16f)0.0f;
        for (long i = 0; i < full; i += 16) s16 += ld16(xr + i);
        if (tail > 0) s16 += ld16_part(xr + full, tail, 0);
        float mu = hsum16(s16) * invCols;
        v16f m = (v16f)mu;
        v16f v16 = (v16f)0.0f;
        for (long i = 0; i < full; i += 16) {
            v16f d = ld16(xr + i) - m;
            v16 = vfma(d, d, v16);
        }
        if (tail > 0) {
            v16f d = ld16_part(xr + full, tail, 0) - m;
            d = sel16(lane >= (int32_t)tail, (v16f)0.0f, d);
            v16 = vfma(d, d, v16);
        }
        float rs = 1.0f / __builtin_elementwise_sqrt(hsum16(v16) * invCols + eps);
        mean[r] = mu;
        rstd[r] = rs;
        for (long i = 0; i < full; i += 16) {
            v16f xhat = (ld16(xr + i) - m) * rs;
            st16(yr + i, vfma(xhat, ld16(gamma + i), ld16(beta + i)));
        }
        if (tail > 0) {
            v16f xhat = (ld16_part(xr + full, tail, 0) - m) * rs;
            st16_part(yr + full, vfma(xhat, ld16_part(gamma + full, tail, 0), ld16_part(beta + full, tail, 0)), tail);
        }
    }
}

void K(layernorm_backward_rows)(float *dx, float *pg, float *pb, const float *dy, const float *x,
                                const float *mean, const float *rstd, const float *gamma,
                                long r0, long r1, long cols, int accumulate) {
    long full = cols & ~15L, tail = cols - full;
    float invCols = 1.0f / (float)cols;
    for (long r = r0; r < r1; r++) {
        const float *xr = x + r * cols, *dyr = dy + r * cols;
        float *dxr = dx + r * cols;
        v16f m = (v16f)mean[r];
        float rs = rstd[r];
        v16f a16 = (v16f)0.0f, b16 = (v16f)0.0f;
        for (long i = 0; i < full; i += 16) {
            v16f d = ld16(dyr + i), xhat = (ld16(xr + i) - m) * rs;
            v16f g = d * ld16(gamma + i);
            a16 += g;
            b16 = vfma(g, xhat, b16);
            st16(pg + i, vfma(d, xhat, ld16(pg + i)));
            st16(pb + i, ld16(pb + i) + d);
        }
        if (tail > 0) {
            v16f d = ld16_part(dyr + full, tail, 0), xhat = (ld16_part(xr + full, tail, 0) - m) * rs;
            v16f g = d * ld16_part(gamma + full, tail, 0);
            a16 += g;
            b16 = vfma(g, xhat, b16);
            st16_part(pg + full, vfma(d, xhat, ld16_part(pg + full, tail, 0)), tail);
            st16_part(pb + full, ld16_part(pb + full, tail, 0) + d, tail);
        }
        v16f a = (v16f)(hsum16(a16) * invCols);
        v16f b = (v16f)(hsum16(b16) * invCols);
        for (long i = 0; i < full; i += 16) {
            v16f xhat = (ld16(xr + i) - m) * rs;
            v16f g = ld16(dyr + i) * ld16(gamma + i);
            v16f v = (g - a - xhat * b) * rs;
            if (accumulate) v += ld16(dxr + i);
            st16(dxr + i, v);
        }
        if (tail > 0) {
            v16f xhat = (ld16_part(xr + full, tail, 0) - m) * rs;
            v16f g = ld16_part(dyr + full, tail, 0) * ld16_part(gamma + full, tail, 0);
            v16f v = (g - a - xhat * b) * rs;
            if (accumulate) v += ld16_part(dxr + full, tail, 0);
            st16_part(dxr + full, v, tail);
        }
    }
}

// MARK: L2 normalise

void K(l2norm_forward_rows)(float *y, float *norms, const float *x, long r0, long r1, long cols, float eps) {
    long full = cols & ~15L, tail = cols - full;
    for (long r = r0; r < r1; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        v16f s16 = (v16f)0.0f;
        for (long i = 0; i < full; i += 16) {
            v16f v = ld16(xr + i);
            s16 = vfma(v, v, s16);
        }
        if (tail > 0) {
            v16f v = ld16_part(xr + full, tail, 0);
            s16 = vfma(v, v, s16);
        }
        float n = __builtin_elementwise_sqrt(hsum16(s16));
        norms[r] = n;
        float inv = 1.0f / (eps >= n ? eps : n);  // Swift.max(n, eps)
        for (long i = 0; i < full; i += 16) st16(yr + i, ld16(xr + i) * inv);
        for (long c = full; c < cols; c++) yr[c] = xr[c] * inv;
    }
}

void K(l2norm_backward_rows)(float *dx, const float *dy, const float *y, const float *norms,
                             long r0, long r1, long cols, float eps, int accumulate) {
    long full = cols & ~15L, tail = cols - full;
    for (long r = r0; r < r1; r++) {
        const float *dyr = dy + r * cols, *yr = y + r * cols;
        float *dxr = dx + r * cols;
        float n = norms[r];
        v16f dot = (v16f)0.0f;
        if (n >= eps) {
            for (long i = 0; i < full; i += 16) dot = vfma(ld16(yr + i), ld16(dyr + i), dot);
            if (tail > 0) dot = vfma(ld16_part(yr + full, tail, 0), ld16_part(dyr + full, tail, 0), dot);
        }
        v16f d = (v16f)hsum16(dot);
        float inv = 1.0f / (eps >= n ? eps : n);  // Swift.max(n, eps)
        for (long i = 0; i < full; i += 16) {
            v16f v = (ld16(dyr + i) - ld16(yr + i) * d) * inv;
            if (accumulate) v += ld16(dxr + i);
            st16(dxr + i, v);
        }
        if (tail > 0) {
            v16f v = (ld16_part(dyr + full, tail, 0) - ld16_part(yr + full, tail, 0) * d) * inv;
            if (accumulate) v += ld16_part(dxr + full, tail, 0);
            st16_part(dxr + full, v, tail);
        }
    }
}
