import Testing
import MoDETensor
@testable import MoDEClustering

@Suite struct NearestCentresTests {
    /// Candidates against the Double reference on awkward sizes: centres in column blocks of 8
    /// (partial lists merged across blocks, no full 32-value runs), in one block, and 200
    /// centres in blocks of 96 (three runs of 32 and a tail per block) with l = 8 and l = 1.
    @Test(arguments: [(29, 5, 8), (29, 5, 2048), (200, 8, 96), (200, 1, 96), (200, 8, 2048)])
    func candidatesMatchReference(k: Int, l: Int, columnBlock: Int) {
        let n = 37, d = 13
        var rng = SeededRNG(seed: 11)
        let x = Tensor.randn([n, d], rng: &rng), c = Tensor.randn([k, d], rng: &rng)
        let bias = Tensor(shape: [k])
        NearestCentres.rowSquaredNorms(bias.data, c.data, n: k, d: d)
        for j in 0..<k { bias[j] += 0.5 * rng.nextFloat() }  // a price on top of ‖c‖²
        var index = [Int32](repeating: 0, count: n * l), value = [Float](repeating: 0, count: n * l)
        NearestCentres.candidates(&index, &value, x.data, c.data, bias.data, n: n, d: d, k: k, l: l, columnBlock: columnBlock)
        let ref = NearestCentres.candidatesReference(x.array.map(Double.init), c.array.map(Double.init),
                                                     bias.array.map(Double.init), n: n, d: d, k: k, l: l + 1)
        // Values are O(d) sums of products; Float accumulation over d = 13 terms differs from
        // Double by ~1e-6 relative, so 1e-4 absolute is loose but far below typical gaps.
        let tol = 1e-4
        for i in 0..<n {
            for t in 0..<l {
                let r = ref.value[i * (l + 1) + t]
                #expect(abs(Double(value[i * l + t]) - r) <= tol, "row \(i) rank \(t)")
                // Indices must agree unless the reference has a near tie at this rank.
                let prev = t > 0 ? ref.value[i * (l + 1) + t - 1] : -Double.infinity
                let next = ref.value[i * (l + 1) + t + 1]
                if r - prev > 2 * tol && next - r > 2 * tol {
                    #expect(index[i * l + t] == ref.index[i * (l + 1) + t], "row \(i) rank \(t)")
                }
            }
        }
    }

    @Test func assignMatchesNaive() throws {
        let n = 300, d = 19, k = 23
        var rng = SeededRNG(seed: 5)
        let x = Tensor.randn([n, d], rng: &rng), c = Tensor.randn([k, d], rng: &rng)
        let (index, distance) = try NearestCentres.assign(x, centres: c)
        for i in 0..<n {
            var best = -1, bestD = Double.infinity
            for j in 0..<k {
                var s = 0.0
                for t in 0..<d { let e = Double(x.data[i * d + t]) - Double(c.data[j * d + t]); s += e * e }
                if s < bestD { bestD = s; best = j }
            }
            // The winner's distance is recomputed in Double, so only its rounding to Float remains.
            #expect(abs(Double(distance[i]) - bestD) <= 1e-7 * bestD, "row \(i)")
            #expect(Int(index[i]) == best, "row \(i)")
        }
    }

    @Test func assignRejectsBadInput() throws {
        let c = Tensor(shape: [2, 3], values: [1, 0, 0, 0, 1, 0])
        let x = Tensor(shape: [3, 3], values: [1, 1, 1, .nan, 0, 0, 1, 2, 3])
        #expect(throws: ClusteringError.invalidRow(row: 1, problem: .nonFinite)) { try NearestCentres.assign(x, centres: c) }
        #expect(throws: ClusteringError.self) { try NearestCentres.assign(Tensor(shape: [3, 4]), centres: c) }
    }

    @Test func radixSortOrdersKeys() {
        var rng = SeededRNG(seed: 3)
        var keys = (0..<5000).map { _ in rng.next() >> (rng.next() % 40) }
        let expected = keys.sorted()
        BalancedAssignment.radixSort(&keys)
        #expect(keys == expected)
    }
}
