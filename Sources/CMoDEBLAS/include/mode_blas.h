// A tiny shim over a CBLAS library that is chosen and loaded at run time (dlopen).
// The Swift side (Tensor/BLAS.swift) decides which library to load; this file only resolves
// the entry points and forwards calls. All matrices are row-major.
#ifndef MODE_BLAS_H
#define MODE_BLAS_H

#ifdef __cplusplus
extern "C" {
#endif

/// Loads `path` with dlopen and resolves `cblas_sgemm` and the library's thread-count setter.
/// Returns 0 on success; otherwise writes a message into `err` (NUL-terminated) and returns -1.
/// `global` != 0 loads the library with RTLD_GLOBAL (needed by libraries that dlopen plug-ins).
int mode_blas_open(const char *path, int global, char *err, int err_len);

/// Pre-loads a helper library (e.g. an OpenMP runtime) with RTLD_GLOBAL. Returns 0 on success.
int mode_blas_preload(const char *path, char *err, int err_len);

/// 1 when a library is loaded.
int mode_blas_loaded(void);

/// C = alpha * op(A) * op(B) + beta * C, row-major. trans_a/trans_b: 0 = as stored, 1 = transposed.
/// op(A) is (m, k), op(B) is (k, n), C is (m, n).
void mode_blas_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
                     const float *a, int lda, const float *b, int ldb,
                     float beta, float *c, int ldc);

/// Sets the library's thread count for all later calls (process-wide). Returns 0 when the library
/// exposes a setter, -1 otherwise (then only environment variables set before loading apply).
int mode_blas_set_threads(int n);

/// Sets the thread count for calls made from the calling thread only (MKL's
/// mkl_set_num_threads_local). Returns the previous local value, or -1 when unsupported.
int mode_blas_set_threads_local(int n);

/// The library's own view of its thread count, or -1 when it has no getter.
int mode_blas_get_threads(void);

/// 1 when the library can set a thread count for the calling thread only (MKL), else 0.
int mode_blas_has_local_threads(void);

#ifdef __cplusplus
}
#endif
#endif

/// Number of CPUs in this process's affinity mask (sched_getaffinity), or -1 when unknown.
int mode_affinity_cores(void);

/// A per-thread nesting counter for parallel regions (the current thread's value; add `delta`).
int mode_parallel_depth(int delta);
