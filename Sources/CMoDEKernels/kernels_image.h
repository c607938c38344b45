// Kernel bodies for PIL-exact resampling (MoDEData/Resample.swift): the horizontal pass over rows
// and the vertical pass for one output row, in 22-bit fixed point with wrapping 32-bit integer
// arithmetic, as the Swift code they replaced (same loads and stores, so the same bytes).

#define MK_PRECISION_BITS 22

MK_INLINE uint8_t clip8_scalar(uint32_t acc) {
    int32_t v = (int32_t)acc >> MK_PRECISION_BITS;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/// (acc >> 22) clamped to 0...255 on every lane.
MK_INLINE v4i clip8_v4(v4u acc) {
    v4i x = (v4i)acc >> MK_PRECISION_BITS;
    v4i low = x & ~(x >> 31);
    v4i d = low - 255;
    return (d & (d >> 31)) + 255;
}

MK_INLINE v8i clip8_v8(v8u acc) {
    v8i x = (v8i)acc >> MK_PRECISION_BITS;
    v8i low = x & ~(x >> 31);
    v8i d = low - 255;
    return (d & (d >> 31)) + 255;
}

/// The 4 bytes at p (a pixel and the next byte) widened to 32-bit lanes.
MK_INLINE v4u widen_pixel(const uint8_t *p) {
    v4b b;
    memcpy(&b, p, 4);
    return __builtin_convertvector(b, v4u);
}

/// The 8 bytes at p widened to 32-bit lanes.
MK_INLINE v8u widen_bytes(const uint8_t *p) {
    v8b b;
    memcpy(&b, p, 8);
    return __builtin_convertvector(b, v8u);
}

MK_INLINE void store_pixel4(uint8_t *p, v4i v) {
    v4b b = __builtin_convertvector(v, v4b);
    memcpy(p, &b, 4);
}

void K(resample_horizontal)(uint8_t *dst, const uint8_t *src, long srcStride, long rows,
                            const int32_t *start, const int32_t *count, const int32_t *weights, long taps,
                            long outCount, long startBias, int lastRowExact) {
    const v4u half = (v4u)(1u << (MK_PRECISION_BITS - 1));
    long vectorRows = lastRowExact ? rows - 1 : rows;
    if (vectorRows < 0) vectorRows = 0;
    long dstStride = outCount * 3;
    long y = 0;
    // Rows in pairs: the two rows share each output pixel's bounds and weights.
    for (; y + 2 <= vectorRows; y += 2) {
        const uint8_t *row0 = src + y * srcStride, *row1 = row0 + srcStride;
        uint8_t *o0 = dst + y * dstStride, *o1 = o0 + dstStride;
        for (long i = 0; i < outCount; i++) {
            v4u acc0 = half, acc1 = half;
            long offset = ((long)start[i] - startBias) * 3;
            const uint8_t *p0 = row0 + offset, *p1 = row1 + offset;
            const int32_t *k = weights + i * taps;
            for (long t = 0; t < (long)count[i]; t++) {
                v4u w = (v4u)(uint32_t)k[t];
                acc0 += widen_pixel(p0 + 3 * t) * w;
                acc1 += widen_pixel(p1 + 3 * t) * w;
            }
            v4i v0 = clip8_v4(acc0), v1 = clip8_v4(acc1);
            if (i == outCount - 1) {
                // Row 0's spare byte would land on row 1's first pixel, already written: store exactly.
                o0[i * 3] = (uint8_t)v0[0];
                o0[i * 3 + 1] = (uint8_t)v0[1];
                o0[i * 3 + 2] = (uint8_t)v0[2];
            } else {
                store_pixel4(o0 + i * 3, v0);
            }
            store_pixel4(o1 + i * 3, v1);
        }
    }
    if (y < vectorRows) {
        const uint8_t *row = src + y * srcStride;
        uint8_t *o = dst + y * dstStride;
        for (long i = 0; i < outCount; i++) {
            v4u acc = half;
            const uint8_t *p = row + ((long)start[i] - startBias) * 3;
            const int32_t *k = weights + i * taps;
            for (long t = 0; t < (long)count[i]; t++) acc += widen_pixel(p + 3 * t) * (v4u)(uint32_t)k[t];
            store_pixel4(o + i * 3, clip8_v4(acc));
        }
    }
    if (lastRowExact && rows > 0) {
        long y = rows - 1;
        const uint8_t *row = src + y * srcStride;
        uint8_t *o = dst + y * outCount * 3;
        for (long i = 0; i < outCount; i++) {
            const int32_t *k = weights + i * taps;
            for (long c = 0; c < 3; c++) {
                uint32_t acc = 1u << (MK_PRECISION_BITS - 1);
                for (long t = 0; t < (long)count[i]; t++)
                    acc += (uint32_t)row[((long)start[i] - startBias + t) * 3 + c] * (uint32_t)k[t];
                o[i * 3 + c] = clip8_scalar(acc);
            }
        }
    }
}

void K(resample_vertical)(uint8_t *dst, const uint8_t *src, long srcStride, const int32_t *weights,
                          long taps, long length) {
    const v8u half = (v8u)(1u << (MK_PRECISION_BITS - 1));
    long i = 0;
    for (; i + 16 <= length; i += 16) {
        v8u a0 = half, a1 = half;
        for (long t = 0; t < taps; t++) {
            v8u k = (v8u)(uint32_t)weights[t];
            a0 += widen_bytes(src + t * srcStride + i) * k;
            a1 += widen_bytes(src + t * srcStride + i + 8) * k;
        }
        v8b b0 = __builtin_convertvector(clip8_v8(a0), v8b), b1 = __builtin_convertvector(clip8_v8(a1), v8b);
        memcpy(dst + i, &b0, 8);
        memcpy(dst + i + 8, &b1, 8);
    }
    for (; i < length; i++) {
        uint32_t acc = 1u << (MK_PRECISION_BITS - 1);
        for (long t = 0; t < taps; t++) acc += (uint32_t)src[t * srcStride + i] * (uint32_t)weights[t];
        dst[i] = clip8_scalar(acc);
    }
}
