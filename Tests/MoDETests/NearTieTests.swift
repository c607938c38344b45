import MoDEClustering
import MoDETensor
import Testing
@testable import MoDE

/// `mode assign` (ClusterHierarchy / NearestCentres.assign) and routing (Router.nearest) pick the
/// same centre on near-ties, and it is the centre a brute-force Double search picks.
@Suite struct NearTieTests {
    /// Brute force over all centres in Double: (index, squared distance, gap to the runner-up).
    /// Ties (equal Double distances) go to the lower index.
    static func bruteForce(_ x: UnsafePointer<Float>, _ c: Tensor) -> (Int, Double, Double) {
        let k = c.shape[0], d = c.shape[1]
        var best = -1, bestD = Double.infinity, second = Double.infinity
        for j in 0..<k {
            var s = 0.0
            for t in 0..<d {
                let e = Double(x[t]) - Double(c.data[j * d + t])
                s += e * e
            }
            if s < bestD { second = bestD; bestD = s; best = j } else if s < second { second = s }
        }
        return (best, bestD, second - bestD)
    }

    /// Points almost equidistant from two to four centres: centres p ± r·e_i around a base point
    /// p, and points p + (noise of about 1e-7), so the distances differ by less than Float
    /// resolves (the Float GEMM search cannot order them); plus exact ties by symmetry.
    static func nearTies(d: Int, groups: Int, perGroup: Int, seed: UInt64) -> (x: Tensor, centres: Tensor) {
        var rng = SeededRNG(seed: seed)
        var centres: [Float] = [], points: [Float] = []
        for g in 0..<groups {
            let p = (0..<d).map { _ in rng.nextFloat() * 2 - 1 }
            let ways = 2 + g % 3
            for w in 0..<ways {
                var c = p
                c[(g + w) % d] += w % 2 == 0 ? 0.5 : -0.5
                c[(g + w + 1) % d] += 0.25
                centres += c
            }
            for q in 0..<perGroup {
                var x = p
                if q > 0 { for t in 0..<d { x[t] += (rng.nextFloat() - 0.5) * 4e-7 } }
                points += x
            }
        }
        // Exact ties: (0.25, 0.25, 0…) is at squared distance 0.125 from 0.5·e0 and 0.5·e1.
        var a = [Float](repeating: 0, count: d), b = a, x = a
        a[0] = 0.5; b[1] = 0.5; x[0] = 0.25; x[1] = 0.25
        centres += b + a  // the later centre (a) sits at the higher index: the tie must go to b
        points += x
        let k = centres.count / d, n = points.count / d
        return (Tensor(shape: [n, d], values: points), Tensor(shape: [k, d], values: centres))
    }

    @Test(arguments: [(24, UInt64(1)), (13, 2), (64, 3)])
    func assignAndRouteAgreeOnNearTies(d: Int, seed: UInt64) throws {
        let (x, centres) = Self.nearTies(d: d, groups: 30, perGroup: 6, seed: seed)
        let n = x.shape[0], k = centres.shape[0]
        let hierarchy = try ClusterHierarchy(fineCentres: centres, coarseCentres: centres, fineToCoarse: (0..<k).map(Int32.init),
                                             metric: .squaredEuclidean)
        let assigned = try hierarchy.assign(x)
        var index = [Int32](repeating: 0, count: n), distance = [Float](repeating: 0, count: n)
        NearestCentres.assign(&index, &distance, x.data, centres.data, n: n, d: d, k: k)
        let router = try Router(fineCentres: centres, expertFine: [(0..<k).map(Int32.init)], options: RoutingOptions())
        let routed = try router.nearest(x)
        var unresolvedInFloat = 0
        for i in 0..<n {
            let (best, bestD, gap) = Self.bruteForce(x.data + i * d, centres)
            #expect(routed.index[i] == Int32(best), "row \(i): route chose \(routed.index[i]), brute force \(best) (gap \(gap))")
            #expect(assigned.fine[i] == routed.index[i], "row \(i): assign chose \(assigned.fine[i]), route \(routed.index[i])")
            #expect(index[i] == routed.index[i], "row \(i)")
            #expect(abs(routed.squaredDistance[i] - bestD) <= 1e-12 * bestD, "row \(i)")
            #expect(Double(assigned.distance[i]) == Double(Float(routed.squaredDistance[i])), "row \(i)")
            // The Float search's values ‖c‖² − 2x·c carry rounding of about ε·(‖x‖² + ‖c‖²).
            var xx = 0.0
            for t in 0..<d { xx += Double(x.data[i * d + t]) * Double(x.data[i * d + t]) }
            if gap < Double(Float.ulpOfOne) * xx { unresolvedInFloat += 1 }
        }
        // The construction does make ties Float cannot resolve (else the test would prove little).
        #expect(unresolvedInFloat > n * 3 / 4)
    }
}
