import ArgumentParser
import MoDE
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure throughput; each subcommand prints one JSON line (same keys as the peer scripts).",
        discussion: "Compare figures as ratios measured back to back with the peers, at the same thread count.",
        subcommands: [BenchGEMM.self, BenchLayer.self, BenchDecode.self, BenchEncode.self, BenchTrain.self, BenchKMeans.self, BenchAssign.self, BenchEmbed.self]
    )
}

/// Options every benchmark shares.
struct BenchOptions: ParsableArguments {
    @Option(help: "Threads (BLAS and parallel loops); default: MODE_THREADS or all available cores.")
    var threads: Int?

    /// Applies the thread count and returns the BLAS in use.
    func setUp() throws -> BLASInfo {
        if let threads { try BLAS.setThreads(threads) }
        return try BLAS.info()
    }
}

/// Prints `obj` as one JSON line with sorted keys.
func printJSONLine(_ obj: [String: Any]) throws {
    let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes])
    print(String(decoding: data, as: UTF8.self))
}

/// Seconds elapsed since `start` (monotonic).
func seconds(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

/// The process's resource usage so far.
private func processUsage() -> rusage {
    var usage = rusage()
    #if os(Linux)
    getrusage(RUSAGE_SELF.rawValue, &usage)
    #else
    getrusage(RUSAGE_SELF, &usage)
    #endif
    return usage
}

/// CPU seconds (user + system) this process has used so far, over all its threads. On a shared
/// machine, CPU time per unit of work is steadier than wall time.
func processCPUSeconds() -> Double {
    let usage = processUsage()
    func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return s(usage.ru_utime) + s(usage.ru_stime)
}

/// Peak resident set size of this process so far, in MiB.
func peakRSSMiB() -> Double {
    #if os(Linux)
    return Double(processUsage().ru_maxrss) / 1024  // KiB
    #else
    return Double(processUsage().ru_maxrss) / 1_048_576  // bytes
    #endif
}

/// Rounds `x` to `places` decimals for reporting.
func rounded(_ x: Double, _ places: Int = 2) -> Double {
    let p = pow(10.0, Double(places))
    return (x * p).rounded() / p
}

struct BenchGEMM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm", abstract: "Single-precision GEMM C(m,n) = A(m,k)·B(k,n): GFLOP/s (best and median of --repeat).")

    @Option(help: "Rows of A and C.") var m = 1024
    @Option(help: "Columns of B and C.") var n = 1024
    @Option(help: "Inner dimension.") var k = 1024
    @Option(help: "Timed repetitions (after two warm-up calls).") var `repeat` = 20
    @Flag(help: "Use op(A) = Aᵀ.") var transA = false
    @Flag(help: "Use op(B) = Bᵀ.") var transB = false
    @OptionGroup var options: BenchOptions

    func validate() throws {
        guard m > 0, n > 0, k > 0 else { throw ValidationError("--m, --n and --k must be positive") }
        guard `repeat` > 0 else { throw ValidationError("--repeat must be positive") }
    }

    func run() throws {
        let blas = try options.setUp()
        var rng = SeededRNG(seed: 0)
        let a = Tensor.randn([m, k], rng: &rng), b = Tensor.randn([k, n], rng: &rng), c = Tensor(shape: [m, n])
        for _ in 0..<2 { Matmul.gemm(c.data, a.data, b.data, m: m, n: n, k: k, transA: transA, transB: transB) }
        var times: [Double] = []
        for _ in 0..<`repeat` {
            let t = DispatchTime.now().uptimeNanoseconds
            Matmul.gemm(c.data, a.data, b.data, m: m, n: n, k: k, transA: transA, transB: transB)
            times.append(seconds(since: t))
        }
        times.sort()
        let flops = 2.0 * Double(m) * Double(n) * Double(k)
        try printJSONLine([
            "bench": "gemm", "m": m, "n": n, "k": k, "trans_a": transA, "trans_b": transB,
            "blas": blas.backend.rawValue, "threads": blas.threads,
            "gflops": rounded(flops / times[times.count / 2] / 1e9, 1),
            "gflops_best": rounded(flops / times[0] / 1e9, 1),
        ])
    }
}
