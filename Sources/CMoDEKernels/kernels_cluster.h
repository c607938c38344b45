// Kernel bodies for MoDEClustering: squared norms, dot products (eight partial sums) and the
// weighted four-row accumulation of the centre update. Ports of the Swift SIMD8 code, bit for bit.

float K(squared_norm)(const float *v, long d) {
    v8f acc = (v8f)0.0f;
    long t = 0;
    for (; t + 8 <= d; t += 8) {
        v8f a = ld8(v + t);
        acc = vfma8(a, a, acc);
    }
    float s = hsum8(acc);
    for (; t < d; t++) s += v[t] * v[t];
    return s;
}

void K(row_squared_norms)(float *out, const float *x, long r0, long r1, long d) {
    for (long i = r0; i < r1; i++) out[i] = K(squared_norm)(x + i * d, d);
}

float K(dot)(const float *a, const float *b, long d) {
    v8f acc = (v8f)0.0f;
    long t = 0;
    for (; t + 8 <= d; t += 8) acc = vfma8(ld8(a + t), ld8(b + t), acc);
    float s = hsum8(acc);
    for (; t < d; t++) s += a[t] * b[t];
    return s;
}

void K(weighted_add4)(float *sum, const float *r0, const float *r1, const float *r2, const float *r3,
                      float w0, float w1, float w2, float w3, long d) {
    long t = 0;
    for (; t + 8 <= d; t += 8) {
        v8f acc = ld8(r0 + t) * w0;
        acc = vfma8(ld8(r1 + t), (v8f)w1, acc);
        acc = vfma8(ld8(r2 + t), (v8f)w2, acc);
        acc = vfma8(ld8(r3 + t), (v8f)w3, acc);
        st8(sum + t, ld8(sum + t) + acc);
    }
    for (; t < d; t++) {
        float acc = r0[t] * w0;
        acc = r1[t] * w1 + acc;
        acc = r2[t] * w2 + acc;
        acc = r3[t] * w3 + acc;
        sum[t] += acc;
    }
}
