import MoDETensor

/// A typed failure at the clustering boundary: bad input features, sizes or options.
public enum ClusteringError: Error, Equatable, CustomStringConvertible {
    /// What is wrong with one feature row.
    public enum RowProblem: String, Sendable, Equatable {
        case nonFinite = "holds a NaN or infinite value (or its squared norm overflows)"
        case zero = "is the zero vector (a failed embedding?)"
    }

    /// Fewer points than clusters.
    case tooFewPoints(points: Int, clusters: Int)
    /// A cluster count below one.
    case invalidClusterCount(Int)
    /// Feature row `row` (0-based, counted over the whole input) is unusable.
    case invalidRow(row: Int, problem: RowProblem)
    /// A tensor with the wrong rank or size; `what` names it.
    case badShape(what: String, expected: String, actual: [Int])
    /// An option outside its valid range.
    case invalidOption(String)
    /// A feature or cluster file that cannot be used.
    case badFile(path: String, reason: String)

    public var description: String {
        switch self {
        case let .tooFewPoints(points, clusters): "cannot form \(clusters) clusters from \(points) points"
        case let .invalidClusterCount(k): "cluster count must be at least 1, got \(k)"
        case let .invalidRow(row, problem): "feature row \(row) \(problem.rawValue)"
        case let .badShape(what, expected, actual): "\(what): expected shape \(expected), got \(actual)"
        case let .invalidOption(message): message
        case let .badFile(path, reason): "\(path): \(reason)"
        }
    }
}

extension ClusteringError {
    /// Checks every row of x (n, d) and writes its squared norm into `norms` (n). Throws
    /// `invalidRow` naming the first bad row (plus `rowOffset`, so streamed chunks report
    /// positions in the whole input).
    static func checkRows(
        _ norms: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>,  // (n), (n, d)
        n: Int, d: Int, rowOffset: Int = 0
    ) throws {
        NearestCentres.rowSquaredNorms(norms, x, n: n, d: d)
        for i in 0..<n where !(norms[i].isFinite && norms[i] > 0) {
            throw ClusteringError.invalidRow(row: rowOffset + i, problem: norms[i].isFinite ? .zero : .nonFinite)
        }
    }
}
