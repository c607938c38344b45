#define _GNU_SOURCE
#include "mode_blas.h"
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int,
                         float, float *, int);
typedef void (*set_threads_fn)(int);
typedef int (*set_threads_local_fn)(int);
typedef int (*get_threads_fn)(void);

static void *handle;
static sgemm_fn sgemm;
static set_threads_fn set_threads;
static set_threads_local_fn set_threads_local;
static get_threads_fn get_threads;

static void *first_symbol(const char *const *names) {
    for (; *names; names++) {
        void *p = dlsym(handle, *names);
        if (p) return p;
    }
    return NULL;
}

int mode_blas_preload(const char *path, char *err, int err_len) {
    if (!dlopen(path, RTLD_NOW | RTLD_GLOBAL)) {
        snprintf(err, (size_t)err_len, "%s", dlerror());
        return -1;
    }
    return 0;
}

int mode_blas_open(const char *path, int global, char *err, int err_len) {
    void *h = dlopen(path, RTLD_NOW | (global ? RTLD_GLOBAL : RTLD_LOCAL));
    if (!h) {
        const char *e = dlerror();
        snprintf(err, (size_t)err_len, "%s", e ? e : "dlopen failed");
        return -1;
    }
    sgemm_fn g = (sgemm_fn)dlsym(h, "cblas_sgemm");
    if (!g) {
        snprintf(err, (size_t)err_len, "%s does not export cblas_sgemm", path);
        dlclose(h);
        return -1;
    }
    handle = h;
    sgemm = g;
    static const char *const setters[] = {"MKL_Set_Num_Threads", "mkl_set_num_threads",
                                          "bli_thread_set_num_threads", "openblas_set_num_threads",
                                          NULL};
    static const char *const getters[] = {"MKL_Get_Max_Threads", "mkl_get_max_threads",
                                          "bli_thread_get_num_threads", "openblas_get_num_threads",
                                          NULL};
    static const char *const locals[] = {"MKL_Set_Num_Threads_Local", "mkl_set_num_threads_local",
                                         NULL};
    set_threads = (set_threads_fn)first_symbol(setters);
    get_threads = (get_threads_fn)first_symbol(getters);
    set_threads_local = (set_threads_local_fn)first_symbol(locals);
    return 0;
}

int mode_blas_loaded(void) { return sgemm != NULL; }

void mode_blas_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
                     const float *a, int lda, const float *b, int ldb,
                     float beta, float *c, int ldc) {
    sgemm(ROW_MAJOR, trans_a ? TRANS : NO_TRANS, trans_b ? TRANS : NO_TRANS, m, n, k, alpha, a, lda,
          b, ldb, beta, c, ldc);
}

int mode_blas_set_threads(int n) {
    if (!set_threads) return -1;
    set_threads(n);
    return 0;
}

int mode_blas_set_threads_local(int n) {
    if (!set_threads_local) return -1;
    return set_threads_local(n);
}

int mode_blas_get_threads(void) { return get_threads ? get_threads() : -1; }

int mode_blas_has_local_threads(void) { return set_threads_local != NULL; }

#include <sched.h>
int mode_affinity_cores(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return -1;
    return CPU_COUNT(&set);
}

static __thread int parallel_depth;
int mode_parallel_depth(int delta) {
    parallel_depth += delta;
    return parallel_depth;
}
