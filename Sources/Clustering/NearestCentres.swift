import Tensor

/// Nearest-centre search. Distances come from one GEMM per block of rows,
///     ‖x − c‖² = ‖x‖² − 2 x·c + ‖c‖²,
/// with the row and centre norms computed once, so the (rows × centres) product is only ever
/// held one block at a time (`rowBlock` × `columnBlock`). Each block's values are scanned right
/// after its GEMM, while they are still in cache, keeping a sorted top-`l` list per row.
public enum NearestCentres {
    /// Rows per GEMM block (the unit of parallel work).
    public static let rowBlock = 128
    /// Centres per GEMM block; more centres are scanned block by block.
    public static let columnBlock = 2048

    /// For every row i of x, the `l` centres j with the smallest  v_ij = bias_j − 2 x_i·c_j,
    /// ascending (ties keep the lower index). With bias_j = ‖c_j‖², v_ij = ‖x_i − c_j‖² − ‖x_i‖².
    /// Rows are split into blocks of `rowBlock` processed in parallel; the result does not
    /// depend on the thread count when the BLAS can run single-threaded per caller (MKL).
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
        func block(_ r0: Int, _ rows: Int, _ dots: UnsafeMutablePointer<Float>) {
            let idx = index + r0 * l, val = value + r0 * l
            idx.update(repeating: -1, count: rows * l)
            val.update(repeating: .infinity, count: rows * l)
            var c0 = 0
            while c0 < k {
                let cols = min(cb, k - c0)
                Matmul.gemm(dots, x + r0 * d, centres + c0 * d, m: rows, n: cols, k: d, transB: true, alpha: -2)
                for r in 0..<rows {
                    selectRow(idx + r * l, val + r * l, l: l, dots + r * cols, bias + c0, cols: cols, offset: c0)
                }
                c0 += cols
            }
        }
        let blocks = (n + rowBlock - 1) / rowBlock
        if Matmul.hasPerCallerThreads || Parallel.threads == 1 {
            Parallel.forEach(blocks) { range in
                let dots = UnsafeMutablePointer<Float>.allocate(capacity: rowBlock * cb)
                defer { dots.deallocate() }
                Matmul.singleThreaded {
                    for b in range {
                        let r0 = b * rowBlock
                        block(r0, min(rowBlock, n - r0), dots)
                    }
                }
            }
        } else {
            // The BLAS threads each product itself: multi-threaded GEMM over a larger block of
            // rows, then the selection in parallel over its rows.
            let superRows = rowBlock * 8
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
                        for r in rr {
                            selectRow(idx + r * l, val + r * l, l: l, UnsafePointer(dots + r * cols), bias + c0,
                                      cols: cols, offset: c0)
                        }
                    }
                    c0 += cols
                }
                r0 += rows
            }
        }
    }

    /// Merges the values v_j = bias_j + dots_j (j < cols, centre index offset + j) into the sorted
    /// top-l list (idx, val) of one row. Sixteen values are compared with the current l-th best
    /// at once; only those below it are inserted.
    @inline(__always)
    static func selectRow(
        _ idx: UnsafeMutablePointer<Int32>, _ val: UnsafeMutablePointer<Float>, l: Int,  // (l), (l)
        _ dots: UnsafePointer<Float>, _ bias: UnsafePointer<Float>,  // (cols), (cols)
        cols: Int, offset: Int
    ) {
        var threshold = val[l - 1]
        @inline(__always) func insert(_ v: Float, _ j: Int) {
            var p = l - 1
            while p > 0 && val[p - 1] > v {
                val[p] = val[p - 1]
                idx[p] = idx[p - 1]
                p -= 1
            }
            val[p] = v
            idx[p] = Int32(offset + j)
            threshold = val[l - 1]
        }
        var j = 0
        let rawDots = UnsafeRawPointer(dots), rawBias = UnsafeRawPointer(bias)
        while j + 16 <= cols {
            let v = rawDots.loadUnaligned(fromByteOffset: 4 * j, as: SIMD16<Float>.self)
                + rawBias.loadUnaligned(fromByteOffset: 4 * j, as: SIMD16<Float>.self)
            if any(v .< SIMD16(repeating: threshold)) {
                for t in 0..<16 where v[t] < threshold { insert(v[t], j + t) }
            }
            j += 16
        }
        while j < cols {
            let v = dots[j] + bias[j]
            if v < threshold { insert(v, j) }
            j += 1
        }
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
            for i in range { out[i] = squaredNorm(x + i * d, d) }
        }
    }

    /// ‖v‖² of a vector of length d (SIMD, eight partial sums).
    @inline(__always)
    static func squaredNorm(_ v: UnsafePointer<Float>, _ d: Int) -> Float {
        let raw = UnsafeRawPointer(v)
        var acc = SIMD8<Float>(repeating: 0)
        var t = 0
        while t + 8 <= d {
            let a = raw.loadUnaligned(fromByteOffset: 4 * t, as: SIMD8<Float>.self)
            acc = acc.addingProduct(a, a)
            t += 8
        }
        var s = acc.sum()
        while t < d { s += v[t] * v[t]; t += 1 }
        return s
    }

    /// a · b for vectors of length d (SIMD, eight partial sums).
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ d: Int) -> Float {
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        var acc = SIMD8<Float>(repeating: 0)
        var t = 0
        while t + 8 <= d {
            acc = acc.addingProduct(ra.loadUnaligned(fromByteOffset: 4 * t, as: SIMD8<Float>.self),
                                    rb.loadUnaligned(fromByteOffset: 4 * t, as: SIMD8<Float>.self))
            t += 8
        }
        var s = acc.sum()
        while t < d { s += a[t] * b[t]; t += 1 }
        return s
    }

    /// Nearest centre of every row (unconstrained): index (n) and squared Euclidean distance (n),
    /// clamped at 0 against rounding. `rowNorms` (n) may pass precomputed ‖x_i‖².
    public static func assign(
        _ index: UnsafeMutablePointer<Int32>, _ distance: UnsafeMutablePointer<Float>,  // (n), (n)
        _ x: UnsafePointer<Float>, _ centres: UnsafePointer<Float>,  // (n, d), (k, d)
        n: Int, d: Int, k: Int, rowNorms: UnsafePointer<Float>? = nil  // (n)
    ) {
        let bias = UnsafeMutablePointer<Float>.allocate(capacity: max(1, k))
        defer { bias.deallocate() }
        rowSquaredNorms(bias, centres, n: k, d: d)
        candidates(index, distance, x, centres, bias, n: n, d: d, k: k, l: 1)
        Parallel.forEach(n, grain: 1024) { range in
            for i in range {
                let xx = rowNorms?[i] ?? squaredNorm(x + i * d, d)
                distance[i] = max(0, distance[i] + xx)
            }
        }
    }
}
