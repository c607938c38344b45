import MoDETensor
@testable import MoDEClustering

/// `blobs` well-separated blobs of exactly `perBlob` points each in d dimensions (rows
/// interleaved: row i belongs to blob i % blobs): a random centre per blob scaled to norm 10,
/// plus `spread` × standard-normal noise. Returns the points and the true blob of every row.
func plantedBlobs(blobs: Int, perBlob: Int, d: Int, spread: Float, seed: UInt64) -> (Tensor, [Int]) {
    var rng = SeededRNG(seed: seed)
    let centres = Tensor.randn([blobs, d], rng: &rng)
    for b in 0..<blobs {
        let norm = VectorDot.squaredNorm(centres.data + b * d, count: d).squareRoot()
        for t in 0..<d { centres.data[b * d + t] *= 10 / norm }
    }
    let n = blobs * perBlob
    let x = Tensor(shape: [n, d])
    var labels: [Int] = []
    for i in 0..<n {
        let b = i % blobs
        labels.append(b)
        for t in 0..<d { x.data[i * d + t] = centres.data[b * d + t] + spread * rng.nextNormal() }
    }
    return (x, labels)
}

/// Adjusted Rand index of two labelings (Hubert & Arabie): 1 for identical partitions up to
/// renaming, about 0 for independent ones.
func adjustedRandIndex(_ a: [Int], _ b: [Int]) -> Double {
    precondition(a.count == b.count)
    var table: [Int: [Int: Int]] = [:]
    var rows: [Int: Int] = [:], cols: [Int: Int] = [:]
    for (x, y) in zip(a, b) {
        table[x, default: [:]][y, default: 0] += 1
        rows[x, default: 0] += 1
        cols[y, default: 0] += 1
    }
    func pairs(_ n: Int) -> Double { Double(n) * Double(n - 1) / 2 }
    let index = table.values.flatMap(\.values).reduce(0.0) { $0 + pairs($1) }
    let sumA = rows.values.reduce(0.0) { $0 + pairs($1) }, sumB = cols.values.reduce(0.0) { $0 + pairs($1) }
    let expected = sumA * sumB / pairs(a.count)
    let maximum = (sumA + sumB) / 2
    return maximum == expected ? 1 : (index - expected) / (maximum - expected)
}

/// Σ_i ‖x_i − c_a(i)‖² in Double.
func objective(_ x: Tensor, _ centres: Tensor, _ assignment: [Int32]) -> Double {
    let d = x.shape[1]
    var s = 0.0
    for (i, j) in assignment.enumerated() {
        for t in 0..<d {
            let diff = Double(x.data[i * d + t]) - Double(centres.data[Int(j) * d + t])
            s += diff * diff
        }
    }
    return s
}

/// Point counts per cluster.
func counts(_ assignment: [Int32], k: Int) -> [Int] {
    var c = [Int](repeating: 0, count: k)
    for j in assignment { c[Int(j)] += 1 }
    return c
}
