import MoDETensor

/// What `Benchmarks.gemm` times: C(m,n) = op(A)·op(B) with op(A) m×k and op(B) k×n.
public struct BenchGEMMOptions: Sendable, Equatable {
    /// Rows of A and C.
    public var m = 1024
    /// Columns of B and C.
    public var n = 1024
    /// Inner dimension.
    public var k = 1024
    /// Timed repetitions (after two warm-up calls).
    public var repeats = 20
    /// Use op(A) = Aᵀ.
    public var transA = false
    /// Use op(B) = Bᵀ.
    public var transB = false

    public static let `default` = BenchGEMMOptions()

    public init() {}

    public func validate() throws {
        guard m > 0, n > 0, k > 0 else { throw BenchmarkError("--m, --n and --k must be positive") }
        guard repeats > 0 else { throw BenchmarkError("--repeat must be positive") }
    }
}

/// Single-precision GEMM throughput (`mode bench gemm`).
public struct BenchGEMMResult: Codable, Sendable, Equatable {
    public var bench = "gemm"
    public var m: Int
    public var n: Int
    public var k: Int
    public var transA: Bool
    public var transB: Bool
    public var blas: String
    public var threads: Int
    /// GFLOP/s at the median time of the repetitions.
    public var gflops: Double
    /// GFLOP/s at the best time.
    public var gflopsBest: Double

    enum CodingKeys: String, CodingKey {
        case bench, m, n, k, blas, threads, gflops
        case transA = "trans_a", transB = "trans_b", gflopsBest = "gflops_best"
    }
}

extension Benchmarks {
    /// Times `Matmul.gemm` on normal random A and B: two untimed calls, then `repeats` timed ones.
    public static func gemm(_ options: BenchGEMMOptions, blas: BLASInfo) throws -> BenchGEMMResult {
        try options.validate()
        let (m, n, k, transA, transB) = (options.m, options.n, options.k, options.transA, options.transB)
        var rng = SeededRNG(seed: 0)
        let a = Tensor.randn([m, k], rng: &rng), b = Tensor.randn([k, n], rng: &rng), c = Tensor(shape: [m, n])
        for _ in 0..<2 { Matmul.gemm(c.data, a.data, b.data, m: m, n: n, k: k, transA: transA, transB: transB) }
        var times: [Double] = []
        for _ in 0..<options.repeats {
            let t = ProcessClock.now()
            Matmul.gemm(c.data, a.data, b.data, m: m, n: n, k: k, transA: transA, transB: transB)
            times.append(ProcessClock.seconds(since: t))
        }
        times.sort()
        let flops = 2.0 * Double(m) * Double(n) * Double(k)
        return BenchGEMMResult(
            m: m, n: n, k: k, transA: transA, transB: transB, blas: blas.backend.rawValue, threads: blas.threads,
            gflops: rounded(flops / times[times.count / 2] / 1e9, 1), gflopsBest: rounded(flops / times[0] / 1e9, 1))
    }
}
