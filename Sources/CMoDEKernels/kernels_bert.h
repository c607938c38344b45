// Kernel bodies for the BERT encoder (MoDEModels/BERT/BERTKernels.swift): bias + GELU, tanh,
// and the per-(sequence, head) attention. Ports of the Swift SIMD16 code, bit for bit.

void K(bias_gelu_rows)(float *y, const float *bias, long r0, long r1, long n) {
    for (long r = r0; r < r1; r++) {
        float *yr = y + r * n;
        for (long c = 0; c < n; c += 16) {
            long t = n - c;
            v16f v = ld16_upto(yr + c, t) + ld16_upto(bias + c, t);
            st16_upto(yr + c, v * 0.5f * (1.0f + verf(v * 0.70710677f)), t);
        }
    }
}

/// The largest lane, scanning lanes 1…15 for a strictly greater value.
MK_INLINE float bert_hmax16(v16f v) {
    float m = v[0];
    for (int i = 1; i < 16; i++) if (v[i] > m) m = v[i];
    return m;
}

/// row (padded) = softmax of its first n entries in place, 0 beyond; padded is a multiple of 16.
MK_INLINE void bert_softmax_padded(float *row, long n, long padded) {
    for (long j = n; j < padded; j++) row[j] = -__builtin_inff();
    v16f m16 = ld16(row);
    for (long j = 16; j < padded; j += 16) m16 = vmax16(m16, ld16(row + j));
    v16f m = (v16f)bert_hmax16(m16);
    v16f s16 = (v16f)0.0f;
    for (long j = 0; j < padded; j += 16) {
        v16f e = vexp(ld16(row + j) - m);
        st16(row + j, e);
        s16 += e;
    }
    v16f inv = (v16f)(1.0f / hsum16(s16));
    for (long j = 0; j < padded; j += 16) st16(row + j, ld16(row + j) * inv);
}

void K(bert_softmax_rows)(float *x, long rows, long n) {
    long full = n & ~15L;
    for (long r = 0; r < rows; r++) {
        float *row = x + r * n;
        float m = -__builtin_inff();
        if (full > 0) {
            v16f m16 = ld16(row);
            for (long j = 16; j < full; j += 16) m16 = vmax16(m16, ld16(row + j));
            m = bert_hmax16(m16);
        }
        for (long t = full; t < n; t++) m = row[t] >= m ? row[t] : m;  // Swift.max(m, row[t])
        v16f m16 = (v16f)m;
        v16f s16 = (v16f)0.0f;
        for (long j = 0; j < full; j += 16) {
            v16f e = vexp(ld16(row + j) - m16);
            st16(row + j, e);
            s16 += e;
        }
        float s = hsum16(s16);
        for (long t = full; t < n; t++) {
            row[t] = expf(row[t] - m);
            s += row[t];
        }
        float inv = 1.0f / s;
        for (long j = 0; j < full; j += 16) st16(row + j, ld16(row + j) * inv);
        for (long t = full; t < n; t++) row[t] *= inv;
    }
}

/// One (sequence, head): out (L, D; row stride ldOut) from q, k, v (L, D; row stride ld).
/// `work` holds L·roundUp16(L) scores followed by kᵀ (D, roundUp16(L)), so each score row is a
/// few vector FMAs: row_i[j..j+16] = Σ_c q_i[c] · kᵀ[c][j..j+16].
void K(bert_attend_direct)(float *out, const float *q, const float *k, const float *v, float *work,
                           long L, long D, long ld, long ldOut, float scale) {
    long Lp = (L + 15) & ~15L;
    float *kt = work + L * Lp;
    for (long c = 0; c < D; c++) {
        float *row = kt + c * Lp;
        for (long j = 0; j < L; j++) row[j] = k[j * ld + c];
        for (long j = L; j < Lp; j++) row[j] = 0;
    }
    long full = D & ~15L, tail = D - full;
    for (long i = 0; i < L; i++) {
        const float *qi = q + i * ld;
        float *row = work + i * Lp;
        for (long jc = 0; jc < Lp; jc += 16) {
            v16f acc = (v16f)0.0f;
            for (long c = 0; c < D; c++) acc = vfma((v16f)qi[c], ld16(kt + c * Lp + jc), acc);
            st16(row + jc, acc * scale);
        }
        bert_softmax_padded(row, L, Lp);
        float *oi = out + i * ldOut;
        for (long c = 0; c < full; c += 16) {
            v16f acc = (v16f)0.0f;
            for (long j = 0; j < L; j++) acc = vfma((v16f)row[j], ld16(v + j * ld + c), acc);
            st16(oi + c, acc);
        }
        if (tail > 0) {
            v16f acc = (v16f)0.0f;
            for (long j = 0; j < L; j++) acc = vfma((v16f)row[j], ld16_part(v + j * ld + full, tail, 0), acc);
            st16_part(oi + full, acc, tail);
        }
    }
}
