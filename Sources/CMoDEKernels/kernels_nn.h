// Kernel bodies for MoDENN: the AdamW update and column sums (bias gradients). Scalar loops in
// the Swift code's order of operations, which the compiler vectorises for each variant's target.

void K(adamw_update)(float *p, const float *g, float *m, float *v, const float *mask, long lo, long hi,
                     float b1, float b2, float eps, float decay, float stepSize, float bc2Sqrt) {
    for (long i = lo; i < hi; i++) {
        float x = p[i];
        x -= decay * mask[i] * x;
        float gi = g[i];
        float mi = b1 * m[i] + (1 - b1) * gi;
        float vi = b2 * v[i] + (1 - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        x -= stepSize * mi / (__builtin_elementwise_sqrt(vi) / bc2Sqrt + eps);
        p[i] = x;
    }
}

void K(add_column_sums)(float *out, const float *x, long rows, long cols, long c0, long c1) {
    for (long r = 0; r < rows; r++) {
        const float *row = x + r * cols;
        for (long c = c0; c < c1; c++) out[c] += row[c];
    }
}
