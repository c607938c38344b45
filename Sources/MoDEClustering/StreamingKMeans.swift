import Foundation
import MoDETensor
import MoDEFormats

/// Feature rows delivered in chunks; every pass yields the same rows in the same order.
public protocol FeatureSource {
    /// Feature dimension D.
    var dimension: Int { get }
    /// Calls `body` with consecutive chunks `rows` (count, D) that together hold every row once,
    /// in a fixed order. A chunk is valid only during its call.
    func forEachChunk(_ body: (_ rows: UnsafePointer<Float>, _ count: Int) throws -> Void) throws
}

/// A tensor (N, D) served in chunks of `chunkRows` rows (no copies).
public struct TensorFeatureSource: FeatureSource {
    public let tensor: Tensor
    public let chunkRows: Int
    public var dimension: Int { tensor.shape[1] }

    public init(_ tensor: Tensor, chunkRows: Int) throws {
        guard tensor.rank == 2 else {
            throw ClusteringError.badShape(what: "features", expected: "(N, D)", actual: tensor.shape)
        }
        guard chunkRows >= 1 else { throw ClusteringError.invalidOption("chunk rows must be at least 1") }
        self.tensor = tensor
        self.chunkRows = chunkRows
    }

    public func forEachChunk(_ body: (UnsafePointer<Float>, Int) throws -> Void) throws {
        let n = tensor.shape[0], d = dimension
        var r0 = 0
        while r0 < n {
            let m = min(chunkRows, n - r0)
            try body(tensor.data + r0 * d, m)
            r0 += m
        }
    }
}

/// The tensor `tensorName` (N_i, D) of each safetensors file, files in the given order, in
/// chunks of at most `chunkRows` rows. Float32 data is read in place from the mapped file;
/// other float types are converted one file at a time.
public struct SafeTensorsFeatureSource: FeatureSource {
    public let paths: [String]
    public let tensorName: String
    public let chunkRows: Int
    public let dimension: Int
    /// Rows per file, from the headers.
    public let rowCounts: [Int]

    /// Reads every file's header and checks that `tensorName` is a 2-D float tensor with one
    /// common width. Throws `ClusteringError.badFile` (or the reader's `SafeTensorsError`).
    public init(paths: [String], tensorName: String = "features", chunkRows: Int = 65536) throws {
        guard !paths.isEmpty else { throw ClusteringError.invalidOption("no feature files given") }
        guard chunkRows >= 1 else { throw ClusteringError.invalidOption("chunk rows must be at least 1") }
        var width: Int?
        var counts: [Int] = []
        for path in paths {
            let file = try SafeTensorsFile(path: path)
            guard let info = file.info(tensorName) else {
                throw ClusteringError.badFile(path: path, reason: "no tensor named \"\(tensorName)\"")
            }
            guard info.shape.count == 2, [.f32, .f16, .bf16, .f64].contains(info.dtype) else {
                throw ClusteringError.badFile(
                    path: path, reason: "\"\(tensorName)\" must be a 2-D float tensor, is \(info.dtype.rawValue) \(info.shape)")
            }
            if let w = width, w != info.shape[1] {
                throw ClusteringError.badFile(path: path, reason: "feature width \(info.shape[1]) differs from \(w) in \(paths[0])")
            }
            width = info.shape[1]
            counts.append(info.shape[0])
        }
        self.paths = paths
        self.tensorName = tensorName
        self.chunkRows = chunkRows
        self.dimension = width ?? 0
        self.rowCounts = counts
    }

    public func forEachChunk(_ body: (UnsafePointer<Float>, Int) throws -> Void) throws {
        let d = dimension
        for path in paths {
            let file = try SafeTensorsFile(path: path)
            guard let info = file.info(tensorName), info.shape.count == 2, info.shape[1] == d else {
                throw ClusteringError.badFile(path: path, reason: "\"\(tensorName)\" changed since the source was opened")
            }
            let n = info.shape[0]
            let raw = try file.rawBytes(tensorName)
            var converted: Tensor?
            let base: UnsafePointer<Float>
            if info.dtype == .f32, let p = raw.baseAddress, Int(bitPattern: p) % MemoryLayout<Float>.alignment == 0 {
                base = p.assumingMemoryBound(to: Float.self)
            } else {
                let t = try file.tensor(tensorName)
                converted = t
                base = UnsafePointer(t.data)
            }
            try withExtendedLifetime(converted) {
                var r0 = 0
                while r0 < n {
                    let m = min(chunkRows, n - r0)
                    try body(base + r0 * d, m)
                    r0 += m
                }
            }
        }
    }
}

extension KMeans {
    /// Clusters rows streamed from `source` (unit weights) without holding them all.
    /// Pass 0 validates every row, counts them and draws a uniform reservoir sample of
    /// `sampleSize` rows (default min(N, max(32k, 4096))) from which the initial centres are
    /// chosen; each of `options.iterations` passes then assigns chunk by chunk against the
    /// running capacity (see the notes in KMeans.swift) and updates the centres at its end.
    /// Memory: one chunk, the sample, and k × D. The result's `assignment` is empty.
    /// `progress` is called after every pass.
    public static func fit(streaming source: some FeatureSource, k: Int, options: KMeansOptions = KMeansOptions(),
                           sampleSize: Int? = nil, progress: ((KMeansProgress) -> Void)? = nil) throws -> KMeansResult {
        try options.validate()
        let d = source.dimension
        guard d >= 1 else { throw ClusteringError.invalidOption("feature dimension must be at least 1") }
        guard k >= 1 else { throw ClusteringError.invalidClusterCount(k) }
        let capacity = max(k, sampleSize ?? max(32 * k, 4096))
        var rng = SeededRNG(seed: options.seed)

        // Pass 0: validation, count, reservoir sample.
        let reservoir = UnsafeMutablePointer<Float>.allocate(capacity: capacity * d)
        defer { reservoir.deallocate() }
        var total = 0, largestChunk = 0
        var scratch = Tensor(shape: [0])
        try source.forEachChunk { rows, count in
            if scratch.count < count { scratch = Tensor(shape: [count]) }
            try ClusteringError.checkRows(scratch.data, rows, n: count, d: d, rowOffset: total)
            for r in 0..<count {
                let t = total + r
                let slot = t < capacity ? t : rng.nextInt(t + 1)
                if slot < capacity { (reservoir + slot * d).update(from: rows + r * d, count: d) }
            }
            total += count
            largestChunk = max(largestChunk, count)
        }
        guard total >= k else { throw ClusteringError.tooFewPoints(points: total, clusters: k) }
        let m = min(total, capacity)
        let sample = Tensor(shape: [m, d])
        sample.data.update(from: reservoir, count: m * d)
        let sampleNorms = Tensor(shape: [m])
        NearestCentres.rowSquaredNorms(sampleNorms.data, sample.data, n: m, d: d)
        let centres = try initialCentres(sample, norms: sampleNorms, k: k, options: options, rng: &rng)

        // Passes.
        let balanced = options.balanceTolerance != nil
        let finalBounds = options.balanceTolerance.map {
            SizeBounds.around(total: Double(total), clusters: k, tolerance: $0, integral: true)
        }
        let l = balanced ? min(options.candidates, k) : 1
        let work = Workspace(n: largestChunk, k: k, l: l)
        let accumulator = CentreSums(k: k, d: d)
        let norms = Tensor(shape: [largestChunk])
        var assignment = [Int32](repeating: 0, count: largestChunk)
        var chunkSizes = [Double](repeating: 0, count: k)
        var sizes = [Double](repeating: 0, count: k)
        var lower = [Double](repeating: 0, count: k), upper = [Double](repeating: .infinity, count: k)
        var objectives: [Double] = []
        var stats = AssignmentStats()
        var repairs = 0
        for pass in 0..<options.iterations {
            accumulator.reset()
            sizes = [Double](repeating: 0, count: k)
            var seen = 0
            var passObjective = 0.0
            var passStats = AssignmentStats()
            try source.forEachChunk { rows, count in
                if let final = finalBounds {
                    // Running capacity: bounds for all rows seen after this chunk, less what is used.
                    let b = final.running(seen: seen + count, total: total, clusters: k)
                    for j in 0..<k {
                        lower[j] = max(0, b.lower - sizes[j])
                        upper[j] = max(0, b.upper - sizes[j])
                    }
                }
                NearestCentres.rowSquaredNorms(norms.data, rows, n: count, d: d)
                let s = assignment.withUnsafeMutableBufferPointer { ap in
                    chunkSizes.withUnsafeMutableBufferPointer { cp in
                        assignChunk(ap.baseAddress!, work.cost, cp.baseAddress!, rows, norms: norms.data, weights: nil,
                                    centres: centres.data, lower: &lower, upper: &upper, work: work,
                                    n: count, d: d, k: k, l: l, balanced: balanced,
                                    refinementPasses: options.refinementPasses)
                    }
                }
                passStats = passStats + s
                for j in 0..<k { sizes[j] += chunkSizes[j] }
                passObjective += objective(norms.data, work.cost, weights: nil, n: count)
                assignment.withUnsafeBufferPointer { accumulator.add(rows, $0.baseAddress!, weights: nil, n: count) }
                seen += count
            }
            objectives.append(passObjective)
            stats = stats + passStats
            progress?(KMeansProgress(iteration: pass + 1, objective: passObjective, stats: passStats))
            repairs += accumulator.updateCentres(centres.data, metric: options.metric, rng: &rng)
        }
        return KMeansResult(centres: centres, assignment: [], sizes: sizes, objectives: objectives,
                            emptyRepairs: repairs, stats: stats, points: total)
    }
}
