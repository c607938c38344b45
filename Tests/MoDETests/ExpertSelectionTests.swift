import Foundation
import MoDE
import Testing

@Suite struct ExpertSelectionTests {
    /// 20,000 keys spread over 4 coarse clusters by a fixed rule.
    static let keys = (0..<20_000).map { String(format: "%09d", $0 * 7 + 3) }
    static func coarse(_ key: String) -> Int32 { Int32((Int(key)! / 7) % 4) }

    @Test func streamIsTheClusterPlusTheOutOfClusterFraction() throws {
        let s = try ExpertSelection(clusters: [1], outOfClusterRatio: 0.02, seed: 5) { key, _ in Self.coarse(key) }
        var inside = 0, outsideKept = 0, outside = 0
        for k in Self.keys {
            let kept = s.keeps(key: k, shard: "a.tar")
            if Self.coarse(k) == 1 {
                #expect(kept, "every pair of the expert's cluster is kept")
                inside += 1
            } else {
                outside += 1
                if kept { outsideKept += 1 }
            }
        }
        #expect(inside == 5000)
        // Binomial(15000, 0.02): σ ≈ 0.00114; 4.4σ ≈ 0.005.
        let fraction = Double(outsideKept) / Double(outside)
        #expect(abs(fraction - 0.02) < 0.005, "out-of-cluster fraction \(fraction)")
        #expect(abs(s.expectedSamples(countsPerCoarse: [5000, 5000, 5000, 5000]) - 5300) < 1e-9)
    }

    @Test func everyPairBelongsToExactlyOneExpertsCluster() throws {
        let experts = try (0..<4).map { c in
            try ExpertSelection(clusters: [Int32(c)], outOfClusterRatio: 0) { key, _ in Self.coarse(key) }
        }
        for k in Self.keys {
            #expect(experts.filter { $0.keeps(key: k, shard: "s") }.count == 1)
        }
    }

    @Test func drawIsDeterministicAndSeeded() throws {
        let a = try ExpertSelection(clusters: [0], outOfClusterRatio: 0.1, seed: 1) { key, _ in Self.coarse(key) }
        let b = try ExpertSelection(clusters: [0], outOfClusterRatio: 0.1, seed: 1) { key, _ in Self.coarse(key) }
        let c = try ExpertSelection(clusters: [0], outOfClusterRatio: 0.1, seed: 2) { key, _ in Self.coarse(key) }
        let ka = Self.keys.filter { a.keeps(key: $0, shard: "x") }
        #expect(ka == Self.keys.filter { b.keeps(key: $0, shard: "y") })
        #expect(ka != Self.keys.filter { c.keeps(key: $0, shard: "x") })
        // Unassigned samples are never kept; ratios 0 and 1 are exact.
        let none = try ExpertSelection(clusters: [0], outOfClusterRatio: 1) { _, _ in nil }
        #expect(!none.keeps(key: "k", shard: "s"))
        let all = try ExpertSelection(clusters: [0], outOfClusterRatio: 1) { key, _ in Self.coarse(key) }
        #expect(Self.keys.allSatisfy { all.keeps(key: $0, shard: "s") })
        #expect(throws: TrainingError.self) { try ExpertSelection(clusters: [0], outOfClusterRatio: 1.5) { _, _ in 0 } }
        #expect(throws: TrainingError.self) { try ExpertSelection(clusters: [], outOfClusterRatio: 0) { _, _ in 0 } }
    }
}
