import MoDETensor

/// Synthetic clustered embeddings for benchmarks and tests.
public enum SyntheticFeatures {
    /// n unit vectors in d dimensions: each is one of `directions` standard-normal directions
    /// (chosen uniformly) plus `noise` × standard-normal noise, then L2-normalised. Returns the
    /// features (n, d) and the direction of every row (n). Rows are generated in blocks with
    /// their own seeded generators, in parallel; the result depends only on the arguments.
    public static func clustered(n: Int, d: Int, directions: Int, noise: Float, seed: UInt64) -> (features: Tensor, labels: [Int32]) {
        precondition(n >= 0 && d >= 1 && directions >= 1, "need n ≥ 0, d ≥ 1, directions ≥ 1")
        var rng = SeededRNG(seed: seed)
        let dirs = Tensor.randn([directions, d], rng: &rng)
        let x = Tensor(shape: [n, d])
        var labels = [Int32](repeating: 0, count: n)
        let block = 4096
        let blocks = (n + block - 1) / block
        labels.withUnsafeMutableBufferPointer { lp in
            let lp = lp.baseAddress
            Parallel.forEach(blocks) { range in
                for b in range {
                    var r = SeededRNG(seed: seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(b + 1))
                    for i in (b * block)..<min(n, (b + 1) * block) {
                        let c = r.nextInt(directions)
                        lp?[i] = Int32(c)
                        let row = x.data + i * d, dir = dirs.data + c * d
                        for t in 0..<d { row[t] = dir[t] + noise * r.nextNormal() }
                        let norm = VectorDot.squaredNorm(row, count: d).squareRoot()
                        if norm > 0 { for t in 0..<d { row[t] /= norm } }
                    }
                }
            }
        }
        return (x, labels)
    }
}
