import MoDETensor

/// Lower and upper bounds on every cluster's size (its point count, or its total weight).
public struct SizeBounds: Sendable, Equatable {
    public var lower: Double
    public var upper: Double

    public init(lower: Double, upper: Double) {
        self.lower = lower
        self.upper = upper
    }

    /// No constraint (plain k-means).
    public static let none = SizeBounds(lower: 0, upper: .infinity)

    /// Sizes within ±`tolerance` of T = total / k. With `integral` (unit weights) the bounds are
    /// whole numbers that always admit ⌊T⌋ and ⌈T⌉:  upper = max(⌈T⌉, ⌊T(1+tol)⌋),
    /// lower = min(⌊T⌋, ⌈T(1−tol)⌉). So max/min ≤ (1+tol)/(1−tol) once T is large, e.g.
    /// 200 000 points in 1024 clusters with tol 0.02: sizes in [192, 199], max/min ≤ 1.037.
    public static func around(total: Double, clusters k: Int, tolerance: Double, integral: Bool) -> SizeBounds {
        let t = total / Double(k)
        if !integral { return SizeBounds(lower: t * (1 - tolerance), upper: t * (1 + tolerance)) }
        // A tiny slack keeps products such as 195.3125 × 1.02 from rounding across an integer.
        let upper = max(t.rounded(.up), (t * (1 + tolerance) + 1e-9).rounded(.down))
        let lower = min(t.rounded(.down), (t * (1 - tolerance) - 1e-9).rounded(.up))
        return SizeBounds(lower: max(0, lower), upper: upper)
    }

    /// Bounds on a cluster's running size after `seen` of `total` rows of a streamed pass whose
    /// final sizes must lie in `self` (unit weights): the proportional bounds widened by `z`
    /// standard deviations of a cluster's count in a random order, √(seen (total − seen) /
    /// (total k)) (zero at both ends of the pass), with the lower bound kept high enough that
    /// the rows still to come can bring every cluster up to the final lower bound.
    public func running(seen: Int, total: Int, clusters k: Int, z: Double = 2) -> SizeBounds {
        if seen >= total { return self }
        let f = Double(seen) / Double(total)
        let sd = (Double(seen) * Double(total - seen) / Double(total) / Double(k)).squareRoot()
        let hi = min(upper, (f * upper + z * sd).rounded(.up))
        let reachable = lower - (Double(total - seen) / Double(k)).rounded(.down)
        let lo = max(0, (f * lower - z * sd).rounded(.down), reachable)
        return SizeBounds(lower: min(lo, hi), upper: hi)
    }
}

/// What a balanced assignment did, for logs and tests.
public struct AssignmentStats: Sendable, Equatable {
    /// Points none of whose candidates had room, placed by an exact search over all centres.
    public var leftovers = 0
    /// Points pulled into clusters below their lower bound.
    public var pulls = 0
    /// Improving moves made by the refinement passes.
    public var moves = 0
    /// Clusters still outside their bounds at the end (only when the bounds cannot be met, e.g.
    /// with uneven weights).
    public var violations = 0

    public init() {}

    static func + (a: AssignmentStats, b: AssignmentStats) -> AssignmentStats {
        var s = a
        s.leftovers += b.leftovers
        s.pulls += b.pulls
        s.moves += b.moves
        s.violations += b.violations
        return s
    }
}

/// Capacity-constrained assignment of points to centres, given each point's `l` nearest
/// candidates (from `NearestCentres.candidates`). See the notes at the top of KMeans.swift.
enum BalancedAssignment {
    /// Assigns every point to one centre so that each cluster's size lies in [lower_j, upper_j]
    /// (as far as possible), keeping the total cost Σ_i w_i v_i low, where v_i is the chosen
    /// candidate value (‖x_i − c‖² − ‖x_i‖²). Writes assignment (n), v (n) and sizes (k).
    static func assign(
        _ assignment: UnsafeMutablePointer<Int32>,  // (n)
        _ cost: UnsafeMutablePointer<Float>,  // (n)
        _ sizes: UnsafeMutablePointer<Double>,  // (k), this call's sizes (written)
        candidates: UnsafePointer<Int32>, values: UnsafePointer<Float>,  // (n, l), (n, l), rows ascending
        x: UnsafePointer<Float>, centres: UnsafePointer<Float>, bias: UnsafePointer<Float>,  // (n, d), (k, d), (k) = ‖c‖²
        weights: UnsafePointer<Float>?,  // (n), nil = all ones
        lower: UnsafePointer<Double>, upper: UnsafePointer<Double>,  // (k), (k)
        n: Int, d: Int, k: Int, l: Int, refinementPasses: Int
    ) -> AssignmentStats {
        var stats = AssignmentStats()
        sizes.update(repeating: 0, count: k)
        if n == 0 { return stats }
        @inline(__always) func w(_ i: Int) -> Double { weights.map { Double($0[i]) } ?? 1 }
        // Float sums of weights may carry rounding; unit weights are exact.
        let slack = weights == nil ? 0 : 1e-6 * max(1, (0..<k).reduce(0) { max($0, upper[$1].isFinite ? upper[$1] : 0) })
        @inline(__always) func fits(_ j: Int, _ wi: Double) -> Bool { sizes[j] + wi <= upper[j] + slack }
        @inline(__always) func canGive(_ j: Int, _ wi: Double) -> Bool { sizes[j] - wi >= lower[j] - slack }

        // 1. Greedy in order of regret (second-best minus best value): the points that lose most
        //    when denied their first choice choose first; each takes its best candidate with room.
        let order = regretOrder(values, n: n, l: l)
        var leftovers: [Int32] = []
        for i32 in order {
            let i = Int(i32), wi = w(i)
            var placed = false
            for t in 0..<l {
                let j = Int(candidates[i * l + t])
                if fits(j, wi) {
                    assignment[i] = Int32(j)
                    cost[i] = values[i * l + t]
                    sizes[j] += wi
                    placed = true
                    break
                }
            }
            if !placed { leftovers.append(i32) }
        }

        // 2. Points whose candidates are all full: exact values against every centre (one GEMM
        //    per batch), each takes the nearest centre with room (else the one with most room).
        if !leftovers.isEmpty {
            stats.leftovers = leftovers.count
            let batch = max(1, min(256, (1 << 20) / k))
            let rows = UnsafeMutablePointer<Float>.allocate(capacity: batch * d)
            let dots = UnsafeMutablePointer<Float>.allocate(capacity: batch * k)
            defer { rows.deallocate(); dots.deallocate() }
            var b0 = 0
            while b0 < leftovers.count {
                let m = min(batch, leftovers.count - b0)
                for r in 0..<m { (rows + r * d).update(from: x + Int(leftovers[b0 + r]) * d, count: d) }
                Matmul.gemm(dots, rows, centres, m: m, n: k, k: d, transB: true, alpha: -2)
                for r in 0..<m {
                    let i = Int(leftovers[b0 + r]), wi = w(i)
                    var best = -1, bestV = Float.infinity
                    var roomiest = 0, room = -Double.infinity
                    for j in 0..<k {
                        let v = dots[r * k + j] + bias[j]
                        if fits(j, wi) && (best < 0 || v < bestV) { best = j; bestV = v }
                        if upper[j] - sizes[j] > room { room = upper[j] - sizes[j]; roomiest = j }
                    }
                    if best < 0 { best = roomiest; bestV = dots[r * k + best] + bias[best] }
                    assignment[i] = Int32(best)
                    cost[i] = bestV
                    sizes[best] += wi
                }
                b0 += m
            }
        }

        // 3. Clusters below their lower bound pull the points that cost least to move, from
        //    clusters that stay at or above their own lower bound.
        stats.pulls = fillUnderfull(assignment, cost, sizes, candidates: candidates, values: values,
                                    x: x, centres: centres, bias: bias, weights: weights,
                                    lower: lower, upper: upper, n: n, d: d, k: k, l: l, slack: slack)

        // 4. Refinement: a point moves to a better candidate when that one has room and its own
        //    cluster may shrink. Every move lowers the total cost.
        for _ in 0..<refinementPasses {
            var moved = 0
            for i in 0..<n {
                let a = Int(assignment[i]), current = cost[i], wi = w(i)
                if values[i * l] >= current || !canGive(a, wi) { continue }
                for t in 0..<l {
                    let v = values[i * l + t]
                    if v >= current { break }
                    let j = Int(candidates[i * l + t])
                    if j != a && fits(j, wi) {
                        assignment[i] = Int32(j)
                        cost[i] = v
                        sizes[a] -= wi
                        sizes[j] += wi
                        moved += 1
                        break
                    }
                }
            }
            stats.moves += moved
            if moved == 0 { break }
        }
        for j in 0..<k where sizes[j] > upper[j] + slack || sizes[j] < lower[j] - slack { stats.violations += 1 }
        return stats
    }

    /// Point indices sorted by regret v_i1 − v_i0, largest first, ties by index (deterministic).
    static func regretOrder(_ values: UnsafePointer<Float>, n: Int, l: Int) -> [Int32] {
        if l < 2 { return (0..<n).map { Int32($0) } }
        // Keys: complemented regret bits (non-negative floats order like their bit patterns),
        // then the index, so an ascending integer sort gives the wanted order.
        var keys = [UInt64](repeating: 0, count: n)
        keys.withUnsafeMutableBufferPointer { kp in
            let kp = kp.baseAddress!
            Parallel.forEach(n, grain: 4096) { range in
                for i in range {
                    let r = max(0, values[i * l + 1] - values[i * l])
                    let bits = r.isFinite ? r.bitPattern : Float.greatestFiniteMagnitude.bitPattern
                    kp[i] = (UInt64(~bits) << 32) | UInt64(i)
                }
            }
        }
        radixSort(&keys)
        return keys.map { Int32(truncatingIfNeeded: $0) }
    }

    /// Sorts 64-bit keys ascending (LSD radix sort, 16-bit digits, skipping constant digits).
    static func radixSort(_ keys: inout [UInt64]) {
        let n = keys.count
        if n < 2 { return }
        if n < 512 { keys.sort(); return }
        var other = [UInt64](repeating: 0, count: n)
        var count = [Int](repeating: 0, count: 1 << 16)
        for shift in stride(from: 0, to: 64, by: 16) {
            count.withUnsafeMutableBufferPointer { c in c.update(repeating: 0) }
            keys.withUnsafeBufferPointer { src in
                count.withUnsafeMutableBufferPointer { c in
                    for key in src { c[Int((key >> UInt64(shift)) & 0xFFFF)] += 1 }
                }
            }
            if count.contains(n) { continue }  // every key has the same digit here
            var sum = 0
            for b in 0..<(1 << 16) { let c = count[b]; count[b] = sum; sum += c }
            keys.withUnsafeBufferPointer { src in
                other.withUnsafeMutableBufferPointer { dst in
                    count.withUnsafeMutableBufferPointer { c in
                        for key in src {
                            let b = Int((key >> UInt64(shift)) & 0xFFFF)
                            dst[c[b]] = key
                            c[b] += 1
                        }
                    }
                }
            }
            swap(&keys, &other)
        }
    }

    /// Step 3 of `assign`: raises every cluster below its lower bound by moving in the points
    /// with the smallest cost increase, first from those that list it as a candidate, then (if
    /// still short) from an exact search over all points. Returns the number of moves.
    static func fillUnderfull(
        _ assignment: UnsafeMutablePointer<Int32>, _ cost: UnsafeMutablePointer<Float>,  // (n), (n)
        _ sizes: UnsafeMutablePointer<Double>,  // (k)
        candidates: UnsafePointer<Int32>, values: UnsafePointer<Float>,  // (n, l), (n, l)
        x: UnsafePointer<Float>, centres: UnsafePointer<Float>, bias: UnsafePointer<Float>,  // (n, d), (k, d), (k)
        weights: UnsafePointer<Float>?, lower: UnsafePointer<Double>, upper: UnsafePointer<Double>,  // (n), (k), (k)
        n: Int, d: Int, k: Int, l: Int, slack: Double
    ) -> Int {
        @inline(__always) func w(_ i: Int) -> Double { weights.map { Double($0[i]) } ?? 1 }
        @inline(__always) func short(_ j: Int) -> Bool { sizes[j] < lower[j] - slack }
        let under = (0..<k).filter { short($0) }
        if under.isEmpty { return 0 }
        var pulls = 0
        // Moves the cheapest of `pool` (point, value at j) into j while j is short.
        func pull(into j: Int, _ pool: [(i: Int32, v: Float)]) {
            var deltas = pool.compactMap { e -> (Float, Int32, Float)? in
                let i = Int(e.i)
                return Int(assignment[i]) == j ? nil : (e.v - cost[i], e.i, e.v)
            }
            deltas.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
            for (_, i32, v) in deltas {
                if !short(j) { break }
                let i = Int(i32), a = Int(assignment[i]), wi = w(i)
                if a == j || sizes[a] - wi < lower[a] - slack || sizes[j] + wi > upper[j] + slack { continue }
                assignment[i] = Int32(j)
                cost[i] = v
                sizes[a] -= wi
                sizes[j] += wi
                pulls += 1
            }
        }
        // Candidate lists inverted for the short clusters only.
        var slot = [Int](repeating: -1, count: k)
        for (s, j) in under.enumerated() { slot[j] = s }
        var pools = [[(i: Int32, v: Float)]](repeating: [], count: under.count)
        for e in 0..<(n * l) {
            let s = slot[Int(candidates[e])]
            if s >= 0 { pools[s].append((Int32(e / l), values[e])) }
        }
        for (s, j) in under.enumerated() { pull(into: j, pools[s]) }

        // Exact search for clusters still short: for each, the points cheapest to move in,
        // over all points. This is the nearest-centre search run the other way round (short
        // centres as rows, points as "centres", bias −cost_i: value = v_ij − ‖c_j‖² − cost_i).
        // Each list is long enough to skip the cluster's own members; a cluster that runs out
        // of eligible points is searched again with a list twice as long.
        var still = under.filter { short($0) }
        var length = 0
        let pointBias = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { pointBias.deallocate() }
        while !still.isEmpty && length < n {
            var members = [Int](repeating: 0, count: k)
            for i in 0..<n { members[Int(assignment[i])] += 1 }
            let need = still.map { members[$0] + 2 * Int((lower[$0] - sizes[$0]).rounded(.up)) }.max() ?? 0
            length = min(n, max(2 * length, need + 64))
            let u = still.count
            let gathered = UnsafeMutablePointer<Float>.allocate(capacity: u * d)
            let index = UnsafeMutablePointer<Int32>.allocate(capacity: u * length)
            let value = UnsafeMutablePointer<Float>.allocate(capacity: u * length)
            defer { gathered.deallocate(); index.deallocate(); value.deallocate() }
            for (c, j) in still.enumerated() { (gathered + c * d).update(from: centres + j * d, count: d) }
            for i in 0..<n { pointBias[i] = -cost[i] }
            NearestCentres.candidates(index, value, gathered, x, pointBias, n: u, d: d, k: n, l: length)
            for (c, j) in still.enumerated() {
                let pool = (0..<length).map { t -> (i: Int32, v: Float) in
                    let i = index[c * length + t]
                    return (i, value[c * length + t] + bias[j] - pointBias[Int(i)])
                }
                pull(into: j, pool)
            }
            still = still.filter { short($0) }
        }
        return pulls
    }
}
