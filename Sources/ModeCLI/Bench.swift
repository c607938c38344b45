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

struct BenchGEMM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm", abstract: "Single-precision GEMM C(m,n) = A(m,k)·B(k,n): GFLOP/s (best and median of --repeat).")

    @Option(help: "Rows of A and C.") var m = BenchGEMMOptions.default.m
    @Option(help: "Columns of B and C.") var n = BenchGEMMOptions.default.n
    @Option(help: "Inner dimension.") var k = BenchGEMMOptions.default.k
    @Option(help: "Timed repetitions (after two warm-up calls).") var `repeat` = BenchGEMMOptions.default.repeats
    @Flag(help: "Use op(A) = Aᵀ.") var transA = BenchGEMMOptions.default.transA
    @Flag(help: "Use op(B) = Bᵀ.") var transB = BenchGEMMOptions.default.transB
    @OptionGroup var compute: ComputeOptions

    var benchmark: BenchGEMMOptions {
        var o = BenchGEMMOptions()
        (o.m, o.n, o.k, o.repeats, o.transA, o.transB) = (m, n, k, `repeat`, transA, transB)
        return o
    }

    func validate() throws { try validating(benchmark.validate) }

    func run() throws {
        let blas = try compute.apply()
        try printJSONLine(Benchmarks.gemm(benchmark, blas: blas))
    }
}
