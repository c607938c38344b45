import CMoDEKernels
import MoDETensor

/// Nearest-centre search. Distances come from one GEMM per block of rows,
///     ‖x − c‖² = ‖x‖² − 2 x·c + ‖c‖²,
/// with the row and centre norms computed once, so the (rows × centres) product is only ever
/// held one block at a time (`rowBlock` × `columnBlock`). Each block's values are scanned right
/// after its GEMM, while they are still in cache, keeping a sorted top-`l` list per row.
public enum NearestCentres {
    /// Rows per GEMM block (the unit of parallel work).
    public static let rowBlock = 512
    /// Centres per GEMM block; more centres are scanned block by block.
    public static let columnBlock = 2048

    /// For every row i of x, the `l` centres j with the smallest  v_ij = bias_j − 2 x_i·c_j,
    /// ascending (ties keep the lower index). With bias_j = ‖c_j‖², v_ij = ‖x_i − c_j‖² − ‖x_i‖².
    /// Rows are split into blocks of `rowBlock` processed in parallel, each with a single-threaded
    /// GEMM (`Matmul.withSingleThreadedCalls`), so the result does not depend on the thread count.
    public static func candidates(
        _ index: UnsafeMutablePointer<Int32>,  // (n, l)
        _ value: UnsafeMutablePointer<Float>,  // (n, l)
        _ x: UnsafePointer<Float>,  // (n, d)
        _ centres: UnsafePointer<Float>,  // (k, d)
        _ bias: UnsafePointer<Float>,  // (k)
        n: Int, d: Int, k: Int, l: Int, columnBlock: Int = NearestCentres.columnBlock
    ) {
        precondition(l >= 1 && l <= k, "need 1 ≤ l ≤ k (l = \(l), k = \(k))")
        if n == 0 { return }
        let cb = max(1, min(columnBlock, k))
        // One block: rows r0..<r0+rows against every column block, selecting as we go.
        // `scratch` holds cb / 32 + l floats for `selectRow`.
        func block(_ r0: Int, _ rows: Int, _ dots: UnsafeMutablePointer<Float>, _ scratch: UnsafeMutablePointer<Float>) {
            let idx = index + r0 * l, val = value + r0 * l
            idx.update(repeating: -1, count: rows * l)
            val.update(repeating: .infinity, count: rows * l)
            var c0 = 0
            while c0 < k {
                let cols = min(cb, k - c0)
                Matmul.gemm(dots, x + r0 * d, centres + c0 * d, m: rows, n: cols, k: d, transB: true, alpha: -2)
                for r in 0..<rows {
                    selectRow(idx + r * l, val + r * l, l: l, dots + r * cols, bias + c0, cols: cols, offset: c0,
                              mins: scratch, bound: scratch + cb / 32)
                }
                c0 += cols
            }
        }
        let blocks = (n + rowBlock - 1) / rowBlock
        let done = Matmul.withSingleThreadedCalls {
            Parallel.forEach(blocks) { range in
                let dots = UnsafeMutablePointer<Float>.allocate(capacity: rowBlock * cb)
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: cb / 32 + l)
                defer { dots.deallocate(); scratch.deallocate() }
                for b in range {
                    let r0 = b * rowBlock
                    block(r0, min(rowBlock, n - r0), dots, scratch)
                }
            }
        }
        if !done {
            // The BLAS threads each product itself: multi-threaded GEMM over a larger block of
            // rows, then the selection in parallel over its rows.
            let superRows = rowBlock * 2
            let dots = UnsafeMutablePointer<Float>.allocate(capacity: superRows * cb)
            defer { dots.deallocate() }
            var r0 = 0
            while r0 < n {
                let rows = min(superRows, n - r0)
                let idx = index + r0 * l, val = value + r0 * l
                idx.update(repeating: -1, count: rows * l)
                val.update(repeating: .infinity, count: rows * l)
                var c0 = 0
                while c0 < k {
                    let cols = min(cb, k - c0)
                    Matmul.gemm(dots, x + r0 * d, centres + c0 * d, m: rows, n: cols, k: d, transB: true, alpha: -2)
                    Parallel.forEach(rows, grain: 16) { rr in
                        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: cb / 32 + l)
                        defer { scratch.deallocate() }
                        for r in rr {
                            selectRow(idx + r * l, val + r * l, l: l, UnsafePointer(dots + r * cols), bias + c0,
                                      cols: cols, offset: c0, mins: scratch, bound: scratch + cb / 32)
                        }
                    }
                    c0 += cols
                }
                r0 += rows
            }
        }
    }

    /// Merges the values v_j = bias_j + dots_j (j < cols, centre index offset + j) into the sorted
    /// top-l list (idx, val) of one row, in two passes. First the minimum of every run of 32
    /// values (a loop the compiler vectorises) into `mins`; the l-th smallest of these minima
    /// bounds the row's l-th smallest value (l runs each hold a value at or below it). Then only
    /// the runs whose minimum is at or below that bound are scanned value by value.
    @inline(__always)
    static func selectRow(
        _ idx: UnsafeMutablePointer<Int32>, _ val: UnsafeMutablePointer<Float>, l: Int,  // (l), (l)
        _ dots: UnsafePointer<Float>, _ bias: UnsafePointer<Float>,  // (cols), (cols)
        cols: Int, offset: Int,
        mins: UnsafeMutablePointer<Float>, bound: UnsafeMutablePointer<Float>  // (cols / 32), (l) scratch
    ) {
        let runs = cols / 32
        for b in 0..<runs {
            let d = dots + 32 * b, c = bias + 32 * b
            var m0 = Float.infinity, m1 = Float.infinity, m2 = Float.infinity, m3 = Float.infinity
            for t in stride(from: 0, to: 32, by: 4) {
                m0 = min(m0, d[t] + c[t])
                m1 = min(m1, d[t + 1] + c[t + 1])
                m2 = min(m2, d[t + 2] + c[t + 2])
                m3 = min(m3, d[t + 3] + c[t + 3])
            }
            mins[b] = min(min(m0, m1), min(m2, m3))
        }
        var threshold = val[l - 1]
        if runs >= l {
            bound.update(repeating: .infinity, count: l)
            for b in 0..<runs where mins[b] < bound[l - 1] {
                var p = l - 1
                while p > 0 && bound[p - 1] > mins[b] {
                    bound[p] = bound[p - 1]
                    p -= 1
                }
                bound[p] = mins[b]
            }
            threshold = min(threshold, bound[l - 1])
        }
        // Values equal to the bound may belong to the list, so runs are scanned when their
        // minimum is ≤ the bound, and values are taken while below the list's current last.
        for b in 0..<runs where mins[b] <= threshold {
            let j = 32 * b
            for t in 0..<32 {
                let v = dots[j + t] + bias[j + t]
                if v <= threshold && v < val[l - 1] {
                    insertSorted(idx, val, l: l, v, Int32(offset + j + t))
                    threshold = min(threshold, val[l - 1])
                }
            }
        }
        for j in (32 * runs)..<cols {
            let v = dots[j] + bias[j]
            if v < val[l - 1] { insertSorted(idx, val, l: l, v, Int32(offset + j)) }
        }
    }

    /// Inserts (v, j) into the ascending list (idx, val) of length l, dropping the last entry;
    /// v must be below val[l − 1]. Equal values keep their earlier (lower-index) entries first.
    @inline(never)
    static func insertSorted(_ idx: UnsafeMutablePointer<Int32>, _ val: UnsafeMutablePointer<Float>, l: Int,
                             _ v: Float, _ j: Int32) {
        var p = l - 1
        while p > 0 && val[p - 1] > v {
            val[p] = val[p - 1]
            idx[p] = idx[p - 1]
            p -= 1
        }
        val[p] = v
        idx[p] = j
    }

    /// Naive reference for `candidates`: every value computed in `T`, then a stable sort.
    public static func candidatesReference<T: BinaryFloatingPoint>(
        _ x: [T], _ centres: [T], _ bias: [T], n: Int, d: Int, k: Int, l: Int  // (n, d), (k, d), (k)
    ) -> (index: [Int32], value: [T]) {  // (n, l), (n, l)
        var index: [Int32] = [], value: [T] = []
        for i in 0..<n {
            var row: [(T, Int)] = []
            for j in 0..<k {
                var dot: T = 0
                for t in 0..<d { dot += x[i * d + t] * centres[j * d + t] }
                row.append((bias[j] - 2 * dot, j))
            }
            row.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
            for t in 0..<l {
                index.append(Int32(row[t].1))
                value.append(row[t].0)
            }
        }
        return (index, value)
    }

    /// out (n) = ‖x_i‖² for every row of x (n, d).
    public static func rowSquaredNorms(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, n: Int, d: Int) {
        Parallel.forEach(n, grain: 256) { range in
            mode_row_squared_norms(out, x, range.lowerBound, range.upperBound, d)
        }
    }

    /// Candidates per row that the Float search of `nearest` keeps for the exact comparison.
    public static let exactCandidates = 4

    /// The nearest centre of every row of x (unconstrained), the one routine behind `mode assign`,
    /// routing and the cluster hierarchy. A Float GEMM search (`candidates`) keeps each row's
    /// `candidates` nearest centres; their squared distances ‖x_i − c_j‖² are then recomputed
    /// exactly in Double from the differences, and the smallest wins (ties: the lower index). Writes
    /// index (n) and that Double squared distance (n). `centreNorms` (k) may pass precomputed ‖c_j‖².
    /// The result does not depend on the thread count.
    public static func nearest(
        _ index: UnsafeMutablePointer<Int32>, _ distance: UnsafeMutablePointer<Double>,  // (n), (n)
        _ x: UnsafePointer<Float>, _ centres: UnsafePointer<Float>,  // (n, d), (k, d)
        n: Int, d: Int, k: Int, centreNorms: UnsafePointer<Float>? = nil,  // (k)
        candidates wanted: Int = NearestCentres.exactCandidates
    ) {
        precondition(k >= 1 && wanted >= 1, "need at least one centre and one candidate")
        if n == 0 { return }
        let l = min(wanted, k)
        var ownNorms: UnsafeMutablePointer<Float>?
        if centreNorms == nil {
            ownNorms = .allocate(capacity: k)
            rowSquaredNorms(ownNorms!, centres, n: k, d: d)
        }
        defer { ownNorms?.deallocate() }
        let cand = UnsafeMutablePointer<Int32>.allocate(capacity: n * l)
        let value = UnsafeMutablePointer<Float>.allocate(capacity: n * l)
        defer { cand.deallocate(); value.deallocate() }
        candidates(cand, value, x, centres, centreNorms ?? UnsafePointer(ownNorms!), n: n, d: d, k: k, l: l)
        Parallel.forEach(n, grain: 256) { range in
            for i in range {
                var best = Int32(-1), bestD = Double.infinity
                var t = 0
                while t < l {
                    let group = min(4, l - t)
                    let dd = exactSquaredDistances(x + i * d, centres, cand + i * l + t, count: group, d: d)
                    for u in 0..<group {
                        let j = cand[i * l + t + u]
                        if j >= 0 && (dd[u] < bestD || (dd[u] == bestD && j < best)) { best = j; bestD = dd[u] }
                    }
                    t += group
                }
                index[i] = best
                distance[i] = bestD
            }
        }
    }

    /// ‖x − c_j‖² in Double for up to four centres j = which[0..<count] (negative: skipped, its
    /// lane undefined), each summed over the d coordinates in order. The four sums run side by
    /// side in the lanes of one vector (each lane's arithmetic is the plain sequential sum).
    @inline(__always)
    static func exactSquaredDistances(_ x: UnsafePointer<Float>, _ centres: UnsafePointer<Float>,
                                      _ which: UnsafePointer<Int32>, count: Int, d: Int) -> SIMD4<Double> {
        var rows = (centres, centres, centres, centres)
        for u in 0..<count where which[u] >= 0 {
            let row = centres + Int(which[u]) * d
            switch u {
            case 0: rows.0 = row
            case 1: rows.1 = row
            case 2: rows.2 = row
            default: rows.3 = row
            }
        }
        var s = SIMD4<Double>(repeating: 0)
        for j in 0..<d {
            let c = SIMD4<Double>(Double(rows.0[j]), Double(rows.1[j]), Double(rows.2[j]), Double(rows.3[j]))
            let t = SIMD4<Double>(repeating: Double(x[j])) - c
            s += t * t
        }
        return s
    }

    /// `nearest` with the squared distance (n) rounded to Float.
    public static func assign(
        _ index: UnsafeMutablePointer<Int32>, _ distance: UnsafeMutablePointer<Float>,  // (n), (n)
        _ x: UnsafePointer<Float>, _ centres: UnsafePointer<Float>,  // (n, d), (k, d)
        n: Int, d: Int, k: Int
    ) {
        let exact = UnsafeMutablePointer<Double>.allocate(capacity: max(1, n))
        defer { exact.deallocate() }
        nearest(index, exact, x, centres, n: n, d: d, k: k)
        for i in 0..<n { distance[i] = Float(exact[i]) }
    }
}
