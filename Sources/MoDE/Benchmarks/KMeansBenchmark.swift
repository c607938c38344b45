import MoDEClustering
import MoDETensor

/// The data of the k-means benchmarks, the peer's recipe: `n` unit vectors in `d` dimensions
/// around 4k random directions with noise 0.6 (`SyntheticFeatures.clustered`).
public struct BenchKMeansData: Sendable, Equatable {
    /// Points.
    public var n = 200_000
    /// Dimension.
    public var d = 384
    /// Clusters (centres).
    public var k = 1024
    /// Seed of the data (and of the clustering).
    public var seed: UInt64 = 0

    public static let `default` = BenchKMeansData()

    public init() {}

    public func validate() throws {
        guard n > 0, d > 0, k > 0 else { throw BenchmarkError("--n, --d and --k must be positive") }
        guard k <= n else { throw BenchmarkError("--k must not exceed --n") }
    }

    /// The (n, d) features.
    public func features() -> Tensor {
        SyntheticFeatures.clustered(n: n, d: d, directions: 4 * k, noise: 0.6, seed: seed).features
    }
}

/// How `Benchmarks.kmeans` picks the initial centres.
public enum BenchKMeansInitialization: String, CaseIterable, Sendable {
    /// k distinct rows (FAISS's default).
    case random
    case kmeansPlusPlus = "kmeans++"
}

/// What `Benchmarks.kmeans` times.
public struct BenchKMeansOptions: Sendable, Equatable {
    public var data = BenchKMeansData.default
    /// Iterations (all run; no early stop).
    public var iterations = 10
    /// Balance tolerance: sizes within ±tol of N/k (when `balanced`).
    public var tolerance = 0.02
    /// Balanced k-means; false: plain k-means, for comparison.
    public var balanced = true
    public var initialization = BenchKMeansInitialization.random
    /// Nearest centres considered per point by the balanced assignment.
    public var candidates = 8

    public static let `default` = BenchKMeansOptions()

    public init() {}

    public func validate() throws {
        try data.validate()
        guard iterations > 0 else { throw BenchmarkError("--iters must be positive") }
    }
}

/// Balanced k-means on synthetic embeddings (`mode bench kmeans`; the FAISS peer's keys).
public struct BenchKMeansResult: Codable, Sendable, Equatable {
    public var bench = "kmeans"
    public var n: Int
    public var d: Int
    public var k: Int
    public var threads: Int
    public var blas: String
    public var balanced: Bool
    public var tol: Double
    /// Iterations run.
    public var iters: Int
    /// Fit time (initialisation included) over the iterations asked for; the same in CPU seconds.
    public var sPerIter: Double
    public var cpuSPerIter: Double
    /// Objective after the last iteration.
    public var objective: Double
    /// Largest over smallest cluster size, and clusters left empty.
    public var sizeMaxOverMin: Double
    public var empty: Int
    /// Largest over smallest size when each point goes to its nearest centre (-1: one is empty).
    public var nearestSizeMaxOverMin: Double
    /// The balanced assignment's counts (`AssignmentStats`).
    public var leftovers: Int
    public var pulls: Int
    public var moves: Int
    /// Points per second of one nearest-centre assignment to the fitted centres.
    public var assignPointsPerS: Double

    enum CodingKeys: String, CodingKey {
        case bench, n, d, k, threads, blas, balanced, tol, iters, objective, empty, leftovers, pulls, moves
        case sPerIter = "s_per_iter", cpuSPerIter = "cpu_s_per_iter", sizeMaxOverMin = "size_max_over_min"
        case nearestSizeMaxOverMin = "nearest_size_max_over_min", assignPointsPerS = "assign_points_per_s"
    }
}

/// What `Benchmarks.assign` times.
public struct BenchAssignOptions: Sendable, Equatable {
    public var data = BenchKMeansData.default
    /// Time the search for the `top` nearest centres per point (balanced k-means' inner step)
    /// instead of the nearest-centre assignment.
    public var top: Int?

    public static let `default` = BenchAssignOptions()

    public init() {}

    public func validate() throws {
        try data.validate()
        if let top { guard top >= 1 && top <= data.k else { throw BenchmarkError("--top must lie in 1...k") } }
    }
}

/// Nearest-centre assignment throughput (`mode bench assign`).
public struct BenchAssignResult: Codable, Sendable, Equatable {
    public var bench = "assign"
    public var n: Int
    public var d: Int
    public var k: Int
    public var threads: Int
    public var blas: String
    /// With `top`: the candidates searched per point.
    public var top: Int?
    /// Without `top`: the mean squared distance to the nearest centre.
    public var meanDistance: Double?
    public var assignPointsPerS: Double
    /// CPU seconds of the timed call.
    public var cpuS: Double

    enum CodingKeys: String, CodingKey {
        case bench, n, d, k, threads, blas, top
        case meanDistance = "mean_distance", assignPointsPerS = "assign_points_per_s", cpuS = "cpu_s"
    }
}

extension Benchmarks {
    /// Times `KMeans.fit` (all iterations, initialisation included), then one nearest-centre
    /// assignment of the data to the fitted centres.
    public static func kmeans(_ options: BenchKMeansOptions, blas: BLASInfo) throws -> BenchKMeansResult {
        try options.validate()
        let data = options.data
        let x = data.features()
        let opts = KMeansOptions(
            iterations: options.iterations, seed: data.seed, balanceTolerance: options.balanced ? options.tolerance : nil,
            initialization: options.initialization == .random ? .randomSample : .kmeansPlusPlus(),
            candidates: options.candidates, stopWhenStable: false)
        let t0 = ProcessClock.now(), cpu0 = ProcessClock.cpuSeconds()
        let result = try KMeans.fit(x, k: data.k, options: opts)
        let fit = ProcessClock.seconds(since: t0), fitCPU = ProcessClock.cpuSeconds() - cpu0
        let t1 = ProcessClock.now()
        let nearest = try NearestCentres.assign(x, centres: result.centres)
        let assignTime = ProcessClock.seconds(since: t1)
        var nearestSizes = [Int](repeating: 0, count: data.k)
        for j in nearest.index { nearestSizes[Int(j)] += 1 }
        let nearestMin = nearestSizes.min() ?? 0, nearestMax = nearestSizes.max() ?? 0
        let iters = Double(options.iterations)
        return BenchKMeansResult(
            n: data.n, d: data.d, k: data.k, threads: blas.threads, blas: blas.backend.rawValue,
            balanced: options.balanced, tol: options.tolerance, iters: result.objectives.count,
            sPerIter: rounded(fit / iters, 3), cpuSPerIter: rounded(fitCPU / iters, 3),
            objective: rounded(result.objectives.last ?? 0, 1),
            sizeMaxOverMin: rounded(result.sizeRatio, 3), empty: result.emptyClusters,
            nearestSizeMaxOverMin: nearestMin > 0 ? rounded(Double(nearestMax) / Double(nearestMin), 2) : -1,
            leftovers: result.stats.leftovers, pulls: result.stats.pulls, moves: result.stats.moves,
            assignPointsPerS: rounded(Double(data.n) / assignTime, 1))
    }

    /// Times one nearest-centre assignment (or, with `top`, the top-L candidate search) of the
    /// data to k distinct data rows, after one untimed call on a slice of at most 1024 rows.
    public static func assign(_ options: BenchAssignOptions, blas: BLASInfo) throws -> BenchAssignResult {
        try options.validate()
        let (n, d, k) = (options.data.n, options.data.d, options.data.k)
        let x = options.data.features()
        var rng = SeededRNG(seed: options.data.seed &+ 1)
        let centres = Tensor(shape: [k, d])
        var rows = Array(0..<n)
        for c in 0..<k {
            rows.swapAt(c, c + rng.nextInt(n - c))
            (centres.data + c * d).update(from: x.data + rows[c] * d, count: d)
        }
        let warm = Tensor(shape: [min(n, 1024), d])
        warm.data.update(from: x.data, count: warm.count)
        _ = try NearestCentres.assign(warm, centres: centres)
        var meanDistance: Double?
        let t0 = ProcessClock.now(), cpu0 = ProcessClock.cpuSeconds()
        if let top = options.top {
            let bias = Tensor(shape: [k])
            NearestCentres.rowSquaredNorms(bias.data, centres.data, n: k, d: d)
            var index = [Int32](repeating: 0, count: n * top), value = [Float](repeating: 0, count: n * top)
            NearestCentres.candidates(&index, &value, x.data, centres.data, bias.data, n: n, d: d, k: k, l: top)
        } else {
            let result = try NearestCentres.assign(x, centres: centres)
            meanDistance = rounded(Double(result.distance.reduce(0, +)) / Double(n), 4)
        }
        let seconds = ProcessClock.seconds(since: t0), cpu = ProcessClock.cpuSeconds() - cpu0
        return BenchAssignResult(
            n: n, d: d, k: k, threads: blas.threads, blas: blas.backend.rawValue, top: options.top,
            meanDistance: meanDistance, assignPointsPerS: rounded(Double(n) / seconds, 1), cpuS: rounded(cpu, 3))
    }
}
