import CMoDEBLAS

/// Matrix products. This file is the only call site of BLAS in the project. Row-major throughout;
/// `op(X)` is `X` or its transpose. Leading dimensions default to the packed ones.
public enum Matmul {
    /// c (m, n) = alpha · op(a) · op(b) + beta · c, with op(a) (m, k) and op(b) (k, n).
    /// `beta = 1` accumulates into `c` (used by backward passes that add into gradients).
    /// While `Profiler` records, each call is timed and counted by shape.
    public static func gemm(
        _ c: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
        m: Int, n: Int, k: Int, transA: Bool = false, transB: Bool = false,
        alpha: Float = 1, beta: Float = 0, lda: Int? = nil, ldb: Int? = nil, ldc: Int? = nil
    ) {
        if !Profiler.enabled || !Profiler.recordsCallingThread {
            product(c, a, b, m: m, n: n, k: k, transA: transA, transB: transB, alpha: alpha, beta: beta, lda: lda, ldb: ldb, ldc: ldc)
            return
        }
        let start = Profiler.now()
        product(c, a, b, m: m, n: n, k: k, transA: transA, transB: transB, alpha: alpha, beta: beta, lda: lda, ldb: ldb, ldc: ldc)
        Profiler.recordGEMM(m: m, n: n, k: k, transA: transA, transB: transB, threaded: Parallel.insideRegion,
                            nanoseconds: Profiler.now() &- start)
    }

    /// `gemm` without the profiler's accounting.
    static func product(
        _ c: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
        m: Int, n: Int, k: Int, transA: Bool, transB: Bool,
        alpha: Float, beta: Float, lda: Int?, ldb: Int?, ldc: Int?
    ) {
        if m == 0 || n == 0 { return }
        let lda = lda ?? (transA ? m : k)
        let ldb = ldb ?? (transB ? k : n)
        let ldc = ldc ?? n
        if k == 0 {
            scaleRows(c, m: m, n: n, ldc: ldc, beta: beta)
            return
        }
        BLAS.ensureLoaded()
        let parts = BLAS.splitsProducts ? min(Parallel.threads, max(m, n) / 32) : 1
        if parts > 1 && m * n * k >= 1 << 20 && !Parallel.insideRegion {
            // The library runs single-threaded; split the product into `parts` slabs of rows (or
            // columns) of c and compute them side by side: one synchronisation per product, so a
            // busy core delays it by one slab instead of stalling every inner block.
            let byRows = m >= n
            let extent = byRows ? m : n
            Parallel.forEach(parts) { r in
                for p in r {
                    let lo = extent * p / parts / 16 * 16, hi = p == parts - 1 ? extent : extent * (p + 1) / parts / 16 * 16
                    if lo >= hi { continue }
                    if byRows {
                        mode_blas_sgemm(transA ? 1 : 0, transB ? 1 : 0, Int32(hi - lo), Int32(n), Int32(k), alpha,
                                        transA ? a + lo : a + lo * lda, Int32(lda), b, Int32(ldb), beta, c + lo * ldc, Int32(ldc))
                    } else {
                        mode_blas_sgemm(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(hi - lo), Int32(k), alpha,
                                        a, Int32(lda), transB ? b + lo * ldb : b + lo, Int32(ldb), beta, c + lo, Int32(ldc))
                    }
                }
            }
            return
        }
        mode_blas_sgemm(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha,
                        a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `batch` independent products: c[i] = alpha · op(a[i]) · op(b[i]) + beta · c[i], where
    /// matrix i of x starts at x + i · strideX. A stride of 0 reuses one matrix for every i.
    /// Small products run in parallel over the batch, each single-threaded; large ones in turn.
    /// The profiler counts one call of `batch` products.
    public static func gemmBatched(
        _ c: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
        batch: Int, m: Int, n: Int, k: Int, transA: Bool = false, transB: Bool = false,
        alpha: Float = 1, beta: Float = 0,
        strideA: Int, strideB: Int, strideC: Int, lda: Int? = nil, ldb: Int? = nil, ldc: Int? = nil
    ) {
        let start = Profiler.enabled ? Profiler.now() : 0
        defer {
            if Profiler.enabled {
                Profiler.recordGEMM(m: m, n: n, k: k, transA: transA, transB: transB, batch: batch,
                                    threaded: Parallel.insideRegion, nanoseconds: Profiler.now() &- start)
            }
        }
        let small = m * n * k < 96 * 96 * 96
        if small && batch > 1 && Parallel.threads > 1 {
            forEachSingleThreaded(batch) { r in
                for i in r {
                    product(c + i * strideC, a + i * strideA, b + i * strideB, m: m, n: n, k: k,
                         transA: transA, transB: transB, alpha: alpha, beta: beta, lda: lda, ldb: ldb, ldc: ldc)
                }
            }
        } else {
            for i in 0..<batch {
                product(c + i * strideC, a + i * strideA, b + i * strideB, m: m, n: n, k: k,
                     transA: transA, transB: transB, alpha: alpha, beta: beta, lda: lda, ldb: ldb, ldc: ldc)
            }
        }
    }

    /// `Parallel.forEach` for work made of many small products: each chunk of `0..<n` runs with
    /// BLAS single-threaded on its worker (where the library allows it), so the products of
    /// different chunks run side by side. With one chunk, `body` runs inline and BLAS keeps its threads.
    public static func forEachSingleThreaded(_ n: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        if n <= 0 { return }
        if min(Parallel.threads, n / max(1, grain)) <= 1 {
            body(0..<n)
            return
        }
        BLAS.ensureLoaded()
        // Libraries without a per-thread setting (BLIS, OpenBLAS) run single-threaded for the
        // whole region instead: otherwise each worker's product starts its own team of threads.
        let global = mode_blas_has_local_threads() == 0 ? mode_blas_get_threads() : -1
        if global > 1 { _ = mode_blas_set_threads(1) }
        defer { if global > 1 { _ = mode_blas_set_threads(global) } }
        Parallel.forEach(n, grain: grain) { r in
            let previous = mode_blas_set_threads_local(1)
            body(r)
            if previous >= 0 { _ = mode_blas_set_threads_local(previous) }
        }
    }

    /// Runs `body` with the BLAS limited to one thread per `gemm` call, so that `body` may call
    /// `gemm` concurrently from the threads of a `Parallel.forEach` (each product then runs in
    /// its caller's thread, with no BLAS thread pool competing for the cores). The limit is
    /// process-wide while `body` runs and is restored after it: run no other multi-threaded
    /// products meanwhile. Returns false, without running `body`, when the loaded library has no
    /// thread-count setter.
    public static func withSingleThreadedCalls(_ body: () throws -> Void) rethrows -> Bool {
        BLAS.ensureLoaded()
        let threads = (try? BLAS.info().threads) ?? 1
        if threads > 1 {
            if mode_blas_set_threads(1) != 0 { return false }
        }
        defer { if threads > 1 { _ = mode_blas_set_threads(Int32(threads)) } }
        try body()
        return true
    }

    static func scaleRows(_ c: UnsafeMutablePointer<Float>, m: Int, n: Int, ldc: Int, beta: Float) {
        for i in 0..<m {
            for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] }
        }
    }

    /// Naive reference for `gemm` (Double accumulation), for tests.
    public static func gemmReference(
        _ c: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
        m: Int, n: Int, k: Int, transA: Bool = false, transB: Bool = false,
        alpha: Float = 1, beta: Float = 0, lda: Int? = nil, ldb: Int? = nil, ldc: Int? = nil
    ) {
        let lda = lda ?? (transA ? m : k)
        let ldb = ldb ?? (transB ? k : n)
        let ldc = ldc ?? n
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let x = transA ? a[p * lda + i] : a[i * lda + p]
                    let y = transB ? b[j * ldb + p] : b[p * ldb + j]
                    s += Double(x) * Double(y)
                }
                let old = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])
                c[i * ldc + j] = Float(Double(alpha) * s + old)
            }
        }
    }
}
