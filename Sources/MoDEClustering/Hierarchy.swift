import Foundation
import MoDETensor
import MoDEFormats

extension NearestCentres {
    /// Nearest centre of every row of `features` (N, D) among `centres` (k, D) (see `nearest`):
    /// index (N) and squared Euclidean distance (N). Throws on mismatched shapes and on NaN/∞/zero rows.
    public static func assign(_ features: Tensor, centres: Tensor) throws -> (index: [Int32], distance: [Float]) {
        guard centres.rank == 2, centres.shape[0] >= 1, centres.shape[1] >= 1 else {
            throw ClusteringError.badShape(what: "centres", expected: "(k, D) with k, D ≥ 1", actual: centres.shape)
        }
        let k = centres.shape[0], d = centres.shape[1]
        guard features.rank == 2, features.shape[1] == d else {
            throw ClusteringError.badShape(what: "features", expected: "(N, \(d))", actual: features.shape)
        }
        let n = features.shape[0]
        let norms = Tensor(shape: [n])
        try ClusteringError.checkRows(norms.data, features.data, n: n, d: d)
        var index = [Int32](repeating: 0, count: n), distance = [Float](repeating: 0, count: n)
        index.withUnsafeMutableBufferPointer { ip in
            distance.withUnsafeMutableBufferPointer { dp in
                guard let ip = ip.baseAddress, let dp = dp.baseAddress else { return }
                assign(ip, dp, features.data, centres.data, n: n, d: d, k: k)
            }
        }
        return (index, distance)
    }
}

/// Fine and coarse cluster of a set of rows, and the squared distance to the fine centre.
public struct HierarchyAssignment: Sendable, Equatable {
    public var fine: [Int32]  // (N)
    public var coarse: [Int32]  // (N)
    public var distance: [Float]  // (N)
}

/// MoDE's two-level clustering: m fine centres, n coarse clusters (the data experts), and the
/// coarse cluster of every fine centre. A pair belongs to the expert of its nearest fine centre.
public struct ClusterHierarchy: Sendable {
    /// Fine centres (m, D).
    public let fineCentres: Tensor
    /// Coarse centres (n, D), the (weighted) means of their fine centres.
    public let coarseCentres: Tensor
    /// Coarse cluster of every fine centre (m), each in 0..<n.
    public let fineToCoarse: [Int32]
    /// The metric the clustering used (recorded in the file).
    public let metric: Metric

    public var fineCount: Int { fineCentres.shape[0] }
    public var coarseCount: Int { coarseCentres.shape[0] }
    public var dimension: Int { fineCentres.shape[1] }

    /// Default options for the coarse step: 100 iterations (as the reference), greedy k-means++
    /// over all fine centres, sizes within ±2% of m/n.
    public static var coarseOptions: KMeansOptions {
        KMeansOptions(iterations: 100, initialization: .kmeansPlusPlus())
    }

    /// Checks shapes and that every entry of `fineToCoarse` names a coarse cluster.
    public init(fineCentres: Tensor, coarseCentres: Tensor, fineToCoarse: [Int32], metric: Metric) throws {
        guard fineCentres.rank == 2, fineCentres.shape[0] >= 1, fineCentres.shape[1] >= 1 else {
            throw ClusteringError.badShape(what: "fine centres", expected: "(m, D)", actual: fineCentres.shape)
        }
        let m = fineCentres.shape[0], d = fineCentres.shape[1]
        guard coarseCentres.rank == 2, coarseCentres.shape[0] >= 1, coarseCentres.shape[1] == d else {
            throw ClusteringError.badShape(what: "coarse centres", expected: "(n, \(d))", actual: coarseCentres.shape)
        }
        guard fineToCoarse.count == m else {
            throw ClusteringError.badShape(what: "fine-to-coarse map", expected: "(\(m))", actual: [fineToCoarse.count])
        }
        let n = coarseCentres.shape[0]
        if let bad = fineToCoarse.firstIndex(where: { $0 < 0 || Int($0) >= n }) {
            throw ClusteringError.invalidOption("fine centre \(bad) maps to coarse cluster \(fineToCoarse[bad]), outside 0..<\(n)")
        }
        self.fineCentres = fineCentres
        self.coarseCentres = coarseCentres
        self.fineToCoarse = fineToCoarse
        self.metric = metric
    }

    /// Groups `fineCentres` (m, D) into `coarseClusters` balanced clusters by k-means on the
    /// centres themselves. `fineSizes` (m), if given, weights each fine centre by its cluster's
    /// size, so the coarse clusters balance data rather than centre counts.
    public static func build(fineCentres: Tensor, coarseClusters n: Int, fineSizes: [Double]? = nil,
                             options: KMeansOptions = ClusterHierarchy.coarseOptions) throws -> ClusterHierarchy {
        let weights = fineSizes.map { $0.map { Float($0) } }
        let result = try KMeans.fit(fineCentres, k: n, weights: weights, options: options)
        return try ClusterHierarchy(fineCentres: fineCentres, coarseCentres: result.centres,
                                    fineToCoarse: result.assignment, metric: options.metric)
    }

    /// Whether `other` has exactly these fine centres (as a split of one coarse cluster keeps
    /// them), whatever its coarse level.
    public func sharesFineCentres(with other: ClusterHierarchy) -> Bool {
        fineCentres.shape == other.fineCentres.shape && fineCentres.array == other.fineCentres.array
    }

    /// Nearest fine centre of every row of `features` (N, D), its coarse cluster and the
    /// squared distance.
    public func assign(_ features: Tensor) throws -> HierarchyAssignment {
        let (fine, distance) = try NearestCentres.assign(features, centres: fineCentres)
        return HierarchyAssignment(fine: fine, coarse: fine.map { fineToCoarse[Int($0)] }, distance: distance)
    }

    /// Names in the safetensors file.
    public enum Key {
        public static let fineCentres = "fine_centres"
        public static let coarseCentres = "coarse_centres"
        public static let fineToCoarse = "fine_to_coarse"
    }

    /// Writes the hierarchy as safetensors (fine_centres F32 (m, D), coarse_centres F32 (n, D),
    /// fine_to_coarse I32 (m)), atomically; `metadata` is added to {"format", "metric"}.
    public func write(to path: String, metadata: [String: String] = [:]) throws {
        var w = SafeTensorsWriter()
        w.add(Key.fineCentres, fineCentres)
        w.add(Key.coarseCentres, coarseCentres)
        w.add(Key.fineToCoarse, int32s: fineToCoarse, shape: [fineToCoarse.count])
        var meta = metadata
        meta["format"] = "mode-cluster-hierarchy"
        meta["metric"] = metric.rawValue
        try w.write(to: path, metadata: meta)
    }

    /// Reads a file written by `write(to:)`.
    public init(contentsOf path: String) throws {
        let file = try SafeTensorsFile(path: path)
        for key in [Key.fineCentres, Key.coarseCentres, Key.fineToCoarse] where !file.contains(key) {
            throw ClusteringError.badFile(path: path, reason: "no tensor named \"\(key)\"")
        }
        guard let metric = Metric(rawValue: file.metadata["metric"] ?? Metric.squaredEuclidean.rawValue) else {
            throw ClusteringError.badFile(path: path, reason: "unknown metric \"\(file.metadata["metric"] ?? "")\"")
        }
        do {
            try self.init(fineCentres: try file.tensor(Key.fineCentres), coarseCentres: try file.tensor(Key.coarseCentres),
                          fineToCoarse: try file.int32s(Key.fineToCoarse), metric: metric)
        } catch let error as ClusteringError {
            throw ClusteringError.badFile(path: path, reason: error.description)
        }
    }
}
