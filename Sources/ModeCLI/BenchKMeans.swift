import ArgumentParser
import MoDE

extension BenchKMeansInitialization: ExpressibleByArgument {}

/// The peer's data recipe: n unit vectors around 4k random directions with 0.6 noise.
struct KMeansDataOptions: ParsableArguments {
    @Option(help: "Points.") var n = BenchKMeansData.default.n
    @Option(help: "Dimension.") var d = BenchKMeansData.default.d
    @Option(help: "Clusters (centres).") var k = BenchKMeansData.default.k
    @Option(help: "Seed of the synthetic data (and of the clustering).") var seed = BenchKMeansData.default.seed

    var data: BenchKMeansData {
        var o = BenchKMeansData()
        (o.n, o.d, o.k, o.seed) = (n, d, k, seed)
        return o
    }

    func validate() throws { try validating(data.validate) }
}

struct BenchKMeans: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kmeans",
        abstract: "Balanced k-means on synthetic clustered embeddings: seconds per iteration, objective, size spread.",
        discussion: "Same data recipe and keys as the FAISS peer; s_per_iter includes initialisation (total fit time / iterations).")

    @OptionGroup var data: KMeansDataOptions
    @Option(help: "Iterations (all run; no early stop).") var iters = BenchKMeansOptions.default.iterations
    @Option(help: "Balance tolerance: sizes within ±tol of N/k.") var tol = BenchKMeansOptions.default.tolerance
    @Flag(help: "Plain (unbalanced) k-means, for comparison.") var unbalanced = !BenchKMeansOptions.default.balanced
    @Option(help: "Initialisation (random: k distinct rows, like FAISS).")
    var initialization = BenchKMeansOptions.default.initialization
    @Option(help: "Nearest centres considered per point by the balanced assignment.") var candidates = BenchKMeansOptions.default.candidates
    @OptionGroup var compute: ComputeOptions

    var benchmark: BenchKMeansOptions {
        var o = BenchKMeansOptions()
        (o.data, o.iterations, o.tolerance, o.balanced, o.initialization, o.candidates) =
            (data.data, iters, tol, !unbalanced, initialization, candidates)
        return o
    }

    func validate() throws { try validating(benchmark.validate) }

    func run() throws {
        let blas = try compute.apply()
        try printJSONLine(Benchmarks.kmeans(benchmark, blas: blas))
    }
}

struct BenchAssign: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assign",
        abstract: "Nearest-centre assignment throughput (points/s) on synthetic clustered embeddings.",
        discussion: "Centres are k distinct data rows; one warm-up call on a slice precedes the timed call.")

    @OptionGroup var data: KMeansDataOptions
    @Option(help: "Time the search for the L nearest centres per point (balanced k-means' inner step) instead.")
    var top: Int?
    @OptionGroup var compute: ComputeOptions

    var benchmark: BenchAssignOptions {
        var o = BenchAssignOptions()
        (o.data, o.top) = (data.data, top)
        return o
    }

    func validate() throws { try validating(benchmark.validate) }

    func run() throws {
        let blas = try compute.apply()
        try printJSONLine(Benchmarks.assign(benchmark, blas: blas))
    }
}
