import Foundation
import MoDEFormats

/// Which training pairs an expert sees: every pair whose fine cluster maps to the expert's
/// coarse cluster(s), plus an out-of-cluster fraction of the other pairs (MoDE's reference code
/// mixes 2% of other clusters' pairs into each expert's stream).
///
/// The out-of-cluster draw is a pure function of the sample key and the seed (a 64-bit hash
/// mapped to [0, 1)), not of the reading order, so the kept set is the same in every pass, in
/// every process and after a resume; a given seed gives a fixed 2% subset rather than a fresh
/// 2% per epoch.
public struct ExpertSelection: Sendable {
    /// Coarse clusters the expert trains on.
    public let clusters: Set<Int32>
    /// Fraction of the other clusters' pairs mixed in, in [0, 1].
    public let outOfClusterRatio: Double
    /// Seed of the out-of-cluster draw.
    public let seed: UInt64
    /// Coarse cluster of a sample (key, shard path), nil when the sample has no assignment.
    public let coarseOf: @Sendable (_ key: String, _ shard: String) -> Int32?

    public init(clusters: Set<Int32>, outOfClusterRatio: Double = 0.02, seed: UInt64 = 0,
                coarseOf: @escaping @Sendable (_ key: String, _ shard: String) -> Int32?) throws {
        guard !clusters.isEmpty else { throw TrainingError.invalidOption("an expert needs at least one coarse cluster") }
        guard outOfClusterRatio >= 0, outOfClusterRatio <= 1 else {
            throw TrainingError.invalidOption("--ooc-ratio must lie in [0, 1], got \(outOfClusterRatio)")
        }
        self.clusters = clusters
        self.outOfClusterRatio = outOfClusterRatio
        self.seed = seed
        self.coarseOf = coarseOf
    }

    /// Whether the expert trains on the sample `key` of `shard`. Samples without an assignment
    /// are never kept (they were not embedded, e.g. for lack of a caption).
    public func keeps(key: String, shard: String) -> Bool {
        guard let c = coarseOf(key, shard) else { return false }
        if clusters.contains(c) { return true }
        return Self.unitHash(key, seed: seed) < outOfClusterRatio
    }

    /// The loader's filter.
    public var filter: @Sendable (_ key: String, _ shard: String) -> Bool {
        let s = self
        return { key, shard in s.keeps(key: key, shard: shard) }
    }

    /// Expected stream size from per-cluster counts: in-cluster pairs + ratio × the others.
    public func expectedSamples(countsPerCoarse: [Int]) -> Double {
        var inside = 0, outside = 0
        for (c, n) in countsPerCoarse.enumerated() {
            if clusters.contains(Int32(c)) { inside += n } else { outside += n }
        }
        return Double(inside) + outOfClusterRatio * Double(outside)
    }

    /// A uniform number in [0, 1) from `key` and `seed` (the top 53 bits of `StableHash.key`).
    public static func unitHash(_ key: String, seed: UInt64) -> Double {
        Double(StableHash.key(key, seed: seed) >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }
}
