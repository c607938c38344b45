import Testing
import MoDETensor
@testable import MoDEClustering

@Suite struct KMeansTests {
    @Test func sizeBoundsAdmitTheIdealSizes() {
        #expect(SizeBounds.around(total: 200_000, clusters: 1024, tolerance: 0.02, integral: true) == SizeBounds(lower: 192, upper: 199))
        #expect(SizeBounds.around(total: 1000, clusters: 10, tolerance: 0.02, integral: true) == SizeBounds(lower: 98, upper: 102))
        #expect(SizeBounds.around(total: 100, clusters: 10, tolerance: 0.02, integral: true) == SizeBounds(lower: 10, upper: 10))
        #expect(SizeBounds.around(total: 105, clusters: 10, tolerance: 0.02, integral: true) == SizeBounds(lower: 10, upper: 11))
        #expect(SizeBounds.around(total: 800, clusters: 4, tolerance: 0.02, integral: false) == SizeBounds(lower: 196, upper: 204))
    }

    /// Six equal, well-separated blobs: balanced k-means recovers them exactly (ARI 1.0 seen;
    /// required ≥ 0.99), from both initialisations.
    @Test(arguments: [Initialization.randomSample, .kmeansPlusPlus()])
    func plantedClustersAreRecovered(initialization: Initialization) throws {
        let (x, labels) = plantedBlobs(blobs: 6, perBlob: 50, d: 8, spread: 0.5, seed: 1)
        let result = try KMeans.fit(x, k: 6, options: KMeansOptions(iterations: 20, seed: 2, initialization: initialization))
        let ari = adjustedRandIndex(labels, result.assignment.map { Int($0) })
        #expect(ari >= 0.99, "adjusted Rand index \(ari)")
        #expect(counts(result.assignment, k: 6) == [Int](repeating: 50, count: 6))
    }

    /// Plain k-means recovers uneven blobs (which the balance constraint would have to split).
    @Test func plainKMeansRecoversUnevenBlobs() throws {
        let (a, _) = plantedBlobs(blobs: 3, perBlob: 20, d: 6, spread: 0.3, seed: 4)
        // Append 60 more points of blob 0 (rows 0, 3, 6, … are blob 0), shifted by tiny noise.
        let n = 120, d = 6
        let x = Tensor(shape: [n, d])
        x.data.update(from: a.data, count: 60 * d)
        var labels = (0..<60).map { $0 % 3 }
        for r in 60..<n {
            for t in 0..<d { x.data[r * d + t] = a.data[((r - 60) % 20) * 3 * d + t] + 0.01 * Float(r % 7) }
            labels.append(0)
        }
        let result = try KMeans.fit(x, k: 3, options: KMeansOptions(iterations: 20, balanceTolerance: nil))
        let ari = adjustedRandIndex(labels, result.assignment.map { Int($0) })
        #expect(ari >= 0.99, "adjusted Rand index \(ari)")
    }

    /// One dense blob holding 70% of the points and sparse points elsewhere: every cluster size
    /// stays within the bounds [98, 102] (max/min ≤ 1.05), including with one candidate per
    /// point (every displaced point then goes through the exact fallback).
    @Test(arguments: [1, 2, 8])
    func balanceHoldsOnAdversarialData(candidates: Int) throws {
        let n = 1000, d = 8
        var rng = SeededRNG(seed: 9)
        let x = Tensor(shape: [n, d])
        for i in 0..<n {
            for t in 0..<d { x.data[i * d + t] = i < 700 ? 5 + 0.01 * rng.nextNormal() : 3 * rng.nextNormal() }
        }
        let result = try KMeans.fit(x, k: 10, options: KMeansOptions(iterations: 8, seed: 1, candidates: candidates))
        let sizes = counts(result.assignment, k: 10)
        #expect(sizes.allSatisfy { $0 >= 98 && $0 <= 102 }, "sizes \(sizes)")
        #expect(result.sizeRatio <= 1.05)
        #expect(result.stats.violations == 0)
        #expect(result.sizes == sizes.map(Double.init))
    }

    @Test func fixedSeedIsDeterministic() throws {
        let (x, _) = plantedBlobs(blobs: 5, perBlob: 40, d: 7, spread: 2, seed: 6)
        let options = KMeansOptions(iterations: 6, seed: 42, initialization: .kmeansPlusPlus(), stopWhenStable: false)
        let a = try KMeans.fit(x, k: 7, options: options), b = try KMeans.fit(x, k: 7, options: options)
        #expect(a.centres.array == b.centres.array)
        #expect(a.assignment == b.assignment)
        #expect(a.objectives == b.objectives)
    }

    /// Plain k-means started with one centre far from every point: that cluster is empty after
    /// the first assignment and is repaired by splitting the largest.
    @Test func emptyClusterIsRepaired() throws {
        let (x, _) = plantedBlobs(blobs: 3, perBlob: 30, d: 4, spread: 0.5, seed: 8)
        let init0 = Tensor(shape: [4, 4])
        init0.data.update(from: x.data, count: 3 * 4)  // rows 0, 1, 2: one per blob
        for t in 0..<4 { init0.data[3 * 4 + t] = 1000 }
        let result = try KMeans.fit(x, k: 4, options: KMeansOptions(
            iterations: 10, balanceTolerance: nil, initialization: .centres(init0)))
        #expect(result.emptyRepairs >= 1)
        #expect(result.emptyClusters == 0)
        #expect(counts(result.assignment, k: 4).allSatisfy { $0 > 0 })
    }

    @Test func emptyRepairSplitsTheLargest() {
        var rng = SeededRNG(seed: 1)
        let sums = CentreSums(k: 3, d: 2)
        let x: [Float] = [1, 1, 3, 3, 10, 10]
        let a: [Int32] = [0, 0, 2]
        sums.add(x, a, weights: nil, n: 3)
        let c = Tensor(shape: [3, 2])
        let repairs = sums.updateCentres(c.data, metric: .squaredEuclidean, rng: &rng)
        #expect(repairs == 1)
        // Cluster 1 was empty; cluster 0 (two points, mean (2, 2)) is split: both move by
        // ±rms/1024 per coordinate around (2, 2).
        let eps: Float = 2 / 1024
        for t in 0..<2 {
            #expect(abs(c.data[t] - 2) == eps || abs(abs(c.data[t] - 2) - eps) < 1e-6)
            #expect(abs((c.data[t] + c.data[2 + t]) / 2 - 2) < 1e-6)
        }
        #expect(c.data[4] == 10 && c.data[5] == 10)
    }

    @Test func tooFewPointsIsATypedError() {
        let x = Tensor(shape: [5, 3], repeating: 1)
        #expect(throws: ClusteringError.tooFewPoints(points: 5, clusters: 6)) { try KMeans.fit(x, k: 6) }
        #expect(throws: ClusteringError.invalidClusterCount(0)) { try KMeans.fit(x, k: 0) }
    }

    @Test func badRowsAreNamed() throws {
        var values = [Float](repeating: 1, count: 10 * 3)
        values[7 * 3 + 1] = .nan
        #expect(throws: ClusteringError.invalidRow(row: 7, problem: .nonFinite)) {
            try KMeans.fit(Tensor(shape: [10, 3], values: values), k: 2)
        }
        values[7 * 3 + 1] = 1
        for t in 0..<3 { values[3 * 3 + t] = 0 }
        #expect(throws: ClusteringError.invalidRow(row: 3, problem: .zero)) {
            try KMeans.fit(Tensor(shape: [10, 3], values: values), k: 2)
        }
        values[3 * 3] = .infinity
        #expect(throws: ClusteringError.invalidRow(row: 3, problem: .nonFinite)) {
            try KMeans.fit(Tensor(shape: [10, 3], values: values), k: 2)
        }
    }

    @Test func badOptionsAreTypedErrors() {
        let x = Tensor(shape: [10, 3], repeating: 1)
        #expect(throws: ClusteringError.self) { try KMeans.fit(x, k: 2, options: KMeansOptions(iterations: 0)) }
        #expect(throws: ClusteringError.self) { try KMeans.fit(x, k: 2, options: KMeansOptions(balanceTolerance: -1)) }
        #expect(throws: ClusteringError.self) { try KMeans.fit(x, k: 2, weights: [1, 2]) }
        #expect(throws: ClusteringError.self) {
            try KMeans.fit(x, k: 2, options: KMeansOptions(initialization: .centres(Tensor(shape: [3, 3]))))
        }
    }

    /// Doubling every weight changes nothing but the sizes (all products by 2 are exact).
    @Test func uniformWeightsMatchUnweighted() throws {
        let (x, _) = plantedBlobs(blobs: 4, perBlob: 25, d: 5, spread: 3, seed: 12)
        let options = KMeansOptions(iterations: 5, seed: 3)
        let plain = try KMeans.fit(x, k: 4, options: options)
        let weighted = try KMeans.fit(x, k: 4, weights: [Float](repeating: 2, count: 100), options: options)
        #expect(weighted.assignment == plain.assignment)
        #expect(weighted.centres.array == plain.centres.array)
        #expect(weighted.sizes == plain.sizes.map { $0 * 2 })
    }

    @Test func cosineCentresHaveUnitLength() throws {
        let x = SyntheticFeatures.clustered(n: 400, d: 12, directions: 8, noise: 0.6, seed: 2).features
        let result = try KMeans.fit(x, k: 4, options: KMeansOptions(iterations: 5, metric: .cosine))
        for j in 0..<4 {
            // Normalised in Float: |‖c‖ − 1| ~ 1e-7.
            #expect(abs(VectorDot.squaredNorm(result.centres.data + j * 12, count: 12) - 1) < 1e-5)
        }
    }

    /// The balanced assignment against the exact optimum found by enumeration: 10 points into
    /// 2 clusters of exactly 5 (fixed centres), over 20 random instances. The greedy plus
    /// refinement reached the optimum on all of them when this was written; allow 2%.
    @Test func balancedAssignmentIsNearOptimal() {
        var rng = SeededRNG(seed: 21)
        let n = 10, d = 3, k = 2
        for instance in 0..<20 {
            let x = Tensor.randn([n, d], rng: &rng), c = Tensor.randn([k, d], rng: &rng)
            let bias = Tensor(shape: [k])
            NearestCentres.rowSquaredNorms(bias.data, c.data, n: k, d: d)
            var index = [Int32](repeating: 0, count: n * k), value = [Float](repeating: 0, count: n * k)
            NearestCentres.candidates(&index, &value, x.data, c.data, bias.data, n: n, d: d, k: k, l: k)
            var assignment = [Int32](repeating: 0, count: n), cost = [Float](repeating: 0, count: n)
            var sizes = [Double](repeating: 0, count: k)
            let lower = [Double](repeating: 5, count: k), upper = lower
            _ = BalancedAssignment.assign(&assignment, &cost, &sizes, candidates: index, values: value,
                                          x: x.data, centres: c.data, bias: bias.data, weights: nil,
                                          lower: lower, upper: upper, n: n, d: d, k: k, l: k, refinementPasses: 2)
            #expect(sizes == [5, 5])
            var v = [[Double]](repeating: [0, 0], count: n)
            for i in 0..<n { for t in 0..<k { v[i][Int(index[i * k + t])] = Double(value[i * k + t]) } }
            var best = Double.infinity
            for mask in 0..<(1 << n) where mask.nonzeroBitCount == 5 {
                best = min(best, (0..<n).reduce(0.0) { $0 + v[$1][(mask >> $1) & 1] })
            }
            let got = (0..<n).reduce(0.0) { $0 + v[$1][Int(assignment[$1])] }
            // Values can be negative (‖x‖² is left out); compare excess over the optimum with
            // the spread of the values.
            let scale = v.flatMap { $0 }.map(abs).max()!
            #expect(got - best <= 0.02 * scale * Double(n), "instance \(instance): \(got) vs optimum \(best)")
        }
    }
}

@Suite struct RunningBoundsTests {
    /// The running bounds admit every count of rows seen (k · lower ≤ seen ≤ k · upper), never
    /// exceed the final bounds, and equal them at the end of the pass.
    @Test func runningBoundsAreFeasible() {
        let final = SizeBounds.around(total: 10_000, clusters: 64, tolerance: 0.02, integral: true)
        for seen in stride(from: 0, through: 10_000, by: 271) {
            let b = final.running(seen: seen, total: 10_000, clusters: 64)
            #expect(64 * b.lower <= Double(seen) && Double(seen) <= 64 * b.upper, "seen \(seen): \(b)")
            #expect(b.upper <= final.upper && b.lower <= final.upper)
            // The rows still to come can fill every cluster to the final lower bound.
            #expect(final.lower - b.lower <= Double((10_000 - seen) / 64), "seen \(seen): \(b)")
        }
        #expect(final.running(seen: 10_000, total: 10_000, clusters: 64) == final)
    }

    @Test func progressIsReportedEveryIteration() throws {
        let x = SyntheticFeatures.clustered(n: 200, d: 4, directions: 4, noise: 0.6, seed: 1).features
        var seen: [Int] = []
        let result = try KMeans.fit(x, k: 4, options: KMeansOptions(iterations: 3, stopWhenStable: false)) { seen.append($0.iteration) }
        #expect(seen == [1, 2, 3])
        #expect(result.objectives.count == 3)
        var passes: [Double] = []
        _ = try KMeans.fit(streaming: try TensorFeatureSource(x, chunkRows: 64), k: 4,
                           options: KMeansOptions(iterations: 2)) { passes.append($0.objective) }
        #expect(passes.count == 2)
    }
}
