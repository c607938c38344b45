import Foundation
import MoDETensor

// The starting centres of a k-means fit: random rows, k-means++ on a sample, or given centres.

extension KMeans {
    /// The starting centres (k, D) for `options.initialization`.
    static func initialCentres(_ features: Tensor, norms: Tensor, k: Int, options: KMeansOptions,
                               rng: inout SeededRNG) throws -> Tensor {
        let n = features.shape[0], d = features.shape[1]
        let centres = Tensor(shape: [k, d])
        switch options.initialization {
        case .randomSample:
            let rows = sampleIndices(n: n, count: k, rng: &rng)
            for (c, i) in rows.enumerated() { (centres.data + c * d).update(from: features.data + i * d, count: d) }
        case .kmeansPlusPlus(let sample):
            let m = min(n, max(k, sample ?? max(8 * k, 1024)))
            let rows = m == n ? Array(0..<n) : sampleIndices(n: n, count: m, rng: &rng).sorted()
            let s = Tensor(shape: [m, d]), sNorms = Tensor(shape: [m])
            for (r, i) in rows.enumerated() {
                (s.data + r * d).update(from: features.data + i * d, count: d)
                sNorms[r] = norms[i]
            }
            kmeansPlusPlus(centres.data, s.data, sNorms.data, m: m, d: d, k: k, rng: &rng)
        case .centres(let given):
            guard given.shape == [k, d] else {
                throw ClusteringError.badShape(what: "initial centres", expected: "(\(k), \(d))", actual: given.shape)
            }
            let scratch = Tensor(shape: [k])
            NearestCentres.rowSquaredNorms(scratch.data, given.data, n: k, d: d)
            if let bad = (0..<k).first(where: { !scratch[$0].isFinite }) {
                throw ClusteringError.invalidOption("initial centre \(bad) is not finite")
            }
            centres.data.update(from: given.data, count: k * d)
        }
        if options.metric == .cosine { normaliseRows(centres.data, n: k, d: d) }
        return centres
    }

    /// `count` distinct indices in 0..<n, uniformly (partial Fisher–Yates), in draw order.
    static func sampleIndices(n: Int, count: Int, rng: inout SeededRNG) -> [Int] {
        precondition(count <= n)
        var pool = [Int32](unsafeUninitializedCapacity: n) { buf, c in
            for i in 0..<n { buf[i] = Int32(i) }
            c = n
        }
        var out: [Int] = []
        out.reserveCapacity(count)
        for t in 0..<count {
            let r = t + rng.nextInt(n - t)
            pool.swapAt(t, r)
            out.append(Int(pool[t]))
        }
        return out
    }

    /// Greedy k-means++ on s (m, D): the first centre uniformly; each next one is the best of
    /// 2 + ⌊ln k⌋ rows drawn with probability ∝ squared distance to the nearest chosen centre,
    /// "best" meaning the lowest resulting potential Σ_i min distance. Writes out (k, D).
    static func kmeansPlusPlus(
        _ out: UnsafeMutablePointer<Float>, _ s: UnsafePointer<Float>, _ sNorms: UnsafePointer<Float>,  // (k, d), (m, d), (m)
        m: Int, d: Int, k: Int, rng: inout SeededRNG
    ) {
        let trials = 2 + Int(log(Double(k)))
        var minDist = [Float](repeating: 0, count: m)
        let chosen = UnsafeMutablePointer<Float>.allocate(capacity: trials * d)
        let dots = UnsafeMutablePointer<Float>.allocate(capacity: m * trials)
        defer { chosen.deallocate(); dots.deallocate() }
        // Squared distances of every sample row to rows picks (t rows of `chosen`) into dots.
        func distances(_ picks: [Int]) {
            for (t, i) in picks.enumerated() { (chosen + t * d).update(from: s + i * d, count: d) }
            let t = picks.count
            Matmul.gemm(dots, s, chosen, m: m, n: t, k: d, transB: true, alpha: -2)
            Parallel.forEach(m, grain: 1024) { range in
                for r in range {
                    for c in 0..<t { dots[r * t + c] = max(0, dots[r * t + c] + sNorms[r] + sNorms[picks[c]]) }
                }
            }
        }
        let first = rng.nextInt(m)
        out.update(from: s + first * d, count: d)
        distances([first])
        for r in 0..<m { minDist[r] = dots[r] }
        for c in 1..<k {
            let total = minDist.reduce(0.0) { $0 + Double($1) }
            var picks: [Int]
            if total > 0 {
                let targets = (0..<trials).map { _ in rng.nextDouble() * total }.sorted()
                picks = []
                var acc = 0.0, r = 0
                for u in targets {
                    while r < m - 1 && acc + Double(minDist[r]) <= u { acc += Double(minDist[r]); r += 1 }
                    picks.append(r)
                }
            } else {
                picks = (0..<trials).map { _ in rng.nextInt(m) }
            }
            distances(picks)
            var best = 0, bestPotential = Double.infinity
            for t in 0..<picks.count {
                var p = 0.0
                for r in 0..<m { p += Double(min(minDist[r], dots[r * picks.count + t])) }
                if p < bestPotential { bestPotential = p; best = t }
            }
            for r in 0..<m { minDist[r] = min(minDist[r], dots[r * picks.count + best]) }
            (out + c * d).update(from: s + picks[best] * d, count: d)
        }
    }

    /// Scales every row of x (n, d) to unit length (zero rows stay zero).
    static func normaliseRows(_ x: UnsafeMutablePointer<Float>, n: Int, d: Int) {
        for i in 0..<n {
            let norm = VectorDot.squaredNorm(x + i * d, count: d).squareRoot()
            if norm > 0 { for t in 0..<d { x[i * d + t] /= norm } }
        }
    }
}
