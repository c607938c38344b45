import CMoDEKernels
import Foundation
import MoDETensor

/// Per-cluster weighted sums of points, accumulated over one or more chunks, and the centre
/// update with empty-cluster repair.
final class CentreSums {
    let k: Int, d: Int
    let sums: UnsafeMutablePointer<Double>  // (k, d)
    var weight: [Double]  // (k)

    init(k: Int, d: Int) {
        self.k = k
        self.d = d
        sums = .allocate(capacity: k * d)
        weight = [Double](repeating: 0, count: k)
        reset()
    }

    deinit { sums.deallocate() }

    func reset() {
        sums.update(repeating: 0, count: k * d)
        weight = [Double](repeating: 0, count: k)
    }

    /// Adds the rows of x (n, d) to the sums of their clusters (assignment (n)). Each cluster
    /// sums its rows in index order, in Float, then adds the total in Double: the result does
    /// not depend on the thread count.
    func add(_ x: UnsafePointer<Float>, _ assignment: UnsafePointer<Int32>, weights: UnsafeBufferPointer<Float>?, n: Int) {
        // Counting sort of the rows by cluster (stable: index order within a cluster).
        var start = [Int](repeating: 0, count: k + 1)
        for i in 0..<n { start[Int(assignment[i]) + 1] += 1 }
        for j in 0..<k { start[j + 1] += start[j] }
        var fill = start
        var members = [Int32](repeating: 0, count: n)
        for i in 0..<n {
            let j = Int(assignment[i])
            members[fill[j]] = Int32(i)
            fill[j] += 1
        }
        let d = d, sums = sums
        let chunkWeight = UnsafeMutablePointer<Double>.allocate(capacity: k)
        defer { chunkWeight.deallocate() }
        members.withUnsafeBufferPointer { mp in
            start.withUnsafeBufferPointer { sp in
                Parallel.forEach(k, grain: 4) { range in
                    let local = UnsafeMutablePointer<Float>.allocate(capacity: d)
                    defer { local.deallocate() }
                    for j in range {
                        local.update(repeating: 0, count: d)
                        var wsum = 0.0
                        var e = sp[j]
                        let end = sp[j + 1]
                        // Four rows at a time: one load and store of the running sum per four rows.
                        while e < end {
                            let m = min(4, end - e)
                            var rows = (x, x, x, x)
                            var w = SIMD4<Float>(repeating: 0)
                            for q in 0..<m {
                                let i = Int(mp[e + q])
                                let wi = weights?[i] ?? 1
                                w[q] = wi
                                wsum += Double(wi)
                                let row = x + i * d
                                switch q {
                                case 0: rows.0 = row
                                case 1: rows.1 = row
                                case 2: rows.2 = row
                                default: rows.3 = row
                                }
                            }
                            // Unused slots point at a real row with weight 0.
                            if m < 2 { rows.1 = rows.0 }
                            if m < 3 { rows.2 = rows.0 }
                            if m < 4 { rows.3 = rows.0 }
                            mode_weighted_add4(local, rows.0, rows.1, rows.2, rows.3, w[0], w[1], w[2], w[3], d)
                            e += m
                        }
                        for t in 0..<d { sums[j * d + t] += Double(local[t]) }
                        chunkWeight[j] = wsum
                    }
                }
            }
        }
        for j in 0..<k { weight[j] += chunkWeight[j] }
    }

    /// centres (k, d) = sums / weight for every non-empty cluster; each empty one is repaired by
    /// splitting the currently largest cluster (both get its centre ± a seeded perturbation of
    /// relative size 1/1024 and half its weight). Renormalises for `.cosine`. Returns the
    /// number of repairs.
    func updateCentres(_ centres: UnsafeMutablePointer<Float>, metric: Metric, rng: inout SeededRNG) -> Int {
        var w = weight
        var empties: [Int] = []
        for j in 0..<k {
            if w[j] > 0 {
                let inv = 1 / w[j]
                for t in 0..<d { centres[j * d + t] = Float(sums[j * d + t] * inv) }
            } else {
                empties.append(j)
            }
        }
        for j in empties {
            var largest = 0
            for c in 1..<k where w[c] > w[largest] { largest = c }
            let src = centres + largest * d, dst = centres + j * d
            let rms = (VectorDot.squaredNorm(src, count: d) / Float(d)).squareRoot()
            let eps = max(rms, Float.leastNormalMagnitude) / 1024
            for t in 0..<d {
                let delta = (rng.next() & 1 == 0 ? eps : -eps)
                dst[t] = src[t] + delta
                src[t] -= delta
            }
            w[largest] /= 2
            w[j] = w[largest]
        }
        if metric == .cosine { KMeans.normaliseRows(centres, n: k, d: d) }
        return empties.count
    }
}

extension Optional where Wrapped == [Float] {
    /// Calls body with a buffer over the array, or nil when there is none.
    func withUnsafeBufferPointerIfPresent<R>(_ body: (UnsafeBufferPointer<Float>?) throws -> R) rethrows -> R {
        switch self {
        case .some(let a): try a.withUnsafeBufferPointer { try body($0) }
        case .none: try body(nil)
        }
    }
}
