import ArgumentParser
import MoDE
import Foundation

/// The peer's data recipe: n unit vectors around 4k random directions with 0.6 noise.
struct KMeansDataOptions: ParsableArguments {
    @Option(help: "Points.") var n = 200_000
    @Option(help: "Dimension.") var d = 384
    @Option(help: "Clusters (centres).") var k = 1024
    @Option(help: "Seed of the synthetic data (and of the clustering).") var seed: UInt64 = 0

    func validate() throws {
        guard n > 0, d > 0, k > 0 else { throw ValidationError("--n, --d and --k must be positive") }
        guard k <= n else { throw ValidationError("--k must not exceed --n") }
    }

    func makeData() -> Tensor {
        SyntheticFeatures.clustered(n: n, d: d, directions: 4 * k, noise: 0.6, seed: seed).features
    }
}

struct BenchKMeans: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kmeans",
        abstract: "Balanced k-means on synthetic clustered embeddings: seconds per iteration, objective, size spread.",
        discussion: "Same data recipe and keys as the FAISS peer; s_per_iter includes initialisation (total fit time / iterations).")

    @OptionGroup var data: KMeansDataOptions
    @Option(help: "Iterations (all run; no early stop).") var iters = 10
    @Option(help: "Balance tolerance: sizes within ±tol of N/k.") var tol = 0.02
    @Flag(help: "Plain (unbalanced) k-means, for comparison.") var unbalanced = false
    @Option(help: "Initialisation: random (like FAISS) or kmeans++.") var initialization = "random"
    @Option(help: "Nearest centres considered per point by the balanced assignment.") var candidates = 8
    @OptionGroup var options: BenchOptions

    func validate() throws {
        guard iters > 0 else { throw ValidationError("--iters must be positive") }
        guard ["random", "kmeans++"].contains(initialization) else { throw ValidationError("--initialization must be random or kmeans++") }
    }

    func run() throws {
        let blas = try options.setUp()
        let x = data.makeData()
        let opts = KMeansOptions(
            iterations: iters, seed: data.seed, balanceTolerance: unbalanced ? nil : tol,
            initialization: initialization == "random" ? .randomSample : .kmeansPlusPlus(),
            candidates: candidates, stopWhenStable: false)
        let t0 = DispatchTime.now().uptimeNanoseconds, cpu0 = processCPUSeconds()
        let result = try KMeans.fit(x, k: data.k, options: opts)
        let fit = seconds(since: t0), fitCPU = processCPUSeconds() - cpu0
        let t1 = DispatchTime.now().uptimeNanoseconds
        let nearest = try NearestCentres.assign(x, centres: result.centres)
        let assignTime = seconds(since: t1)
        var nearestSizes = [Int](repeating: 0, count: data.k)
        for j in nearest.index { nearestSizes[Int(j)] += 1 }
        let nearestMin = nearestSizes.min() ?? 0, nearestMax = nearestSizes.max() ?? 0
        try printJSONLine([
            "bench": "kmeans", "n": data.n, "d": data.d, "k": data.k, "threads": blas.threads, "blas": blas.backend.rawValue,
            "balanced": !unbalanced, "tol": tol, "iters": result.objectives.count,
            "s_per_iter": rounded(fit / Double(iters), 3),
            "cpu_s_per_iter": rounded(fitCPU / Double(iters), 3),
            "objective": rounded(result.objectives.last ?? 0, 1),
            "size_max_over_min": rounded(result.sizeRatio, 3),
            "empty": result.emptyClusters,
            "nearest_size_max_over_min": nearestMin > 0 ? rounded(Double(nearestMax) / Double(nearestMin), 2) : -1,
            "leftovers": result.stats.leftovers, "pulls": result.stats.pulls, "moves": result.stats.moves,
            "assign_points_per_s": rounded(Double(data.n) / assignTime, 1),
        ])
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
    @OptionGroup var options: BenchOptions

    func validate() throws {
        if let top { guard top >= 1 && top <= data.k else { throw ValidationError("--top must lie in 1...k") } }
    }

    func run() throws {
        let blas = try options.setUp()
        let x = data.makeData()
        var rng = SeededRNG(seed: data.seed &+ 1)
        let centres = Tensor(shape: [data.k, data.d])
        var rows = Array(0..<data.n)
        for c in 0..<data.k {
            rows.swapAt(c, c + rng.nextInt(data.n - c))
            (centres.data + c * data.d).update(from: x.data + rows[c] * data.d, count: data.d)
        }
        let warm = Tensor(shape: [min(data.n, 1024), data.d])
        warm.data.update(from: x.data, count: warm.count)
        _ = try NearestCentres.assign(warm, centres: centres)
        var line: [String: Any] = [
            "bench": "assign", "n": data.n, "d": data.d, "k": data.k, "threads": blas.threads, "blas": blas.backend.rawValue,
        ]
        let t0 = DispatchTime.now().uptimeNanoseconds, cpu0 = processCPUSeconds()
        if let top {
            let bias = Tensor(shape: [data.k])
            NearestCentres.rowSquaredNorms(bias.data, centres.data, n: data.k, d: data.d)
            var index = [Int32](repeating: 0, count: data.n * top), value = [Float](repeating: 0, count: data.n * top)
            NearestCentres.candidates(&index, &value, x.data, centres.data, bias.data, n: data.n, d: data.d, k: data.k, l: top)
            line["top"] = top
        } else {
            let result = try NearestCentres.assign(x, centres: centres)
            line["mean_distance"] = rounded(Double(result.distance.reduce(0, +)) / Double(data.n), 4)
        }
        line["assign_points_per_s"] = rounded(Double(data.n) / seconds(since: t0), 1)
        line["cpu_s"] = rounded(processCPUSeconds() - cpu0, 3)
        try printJSONLine(line)
    }
}
