import Clustering
import Foundation
import NN
import Tensor

/// A seeded uniform sample of the rows of a feature folder, kept as row indices per file (4
/// bytes per sampled row), and read back chunk by chunk from the files when needed.
public struct FeatureSample {
    /// The files sampled from, in folder order.
    public let infos: [FeatureFileInfo]
    /// Sorted sampled row indices of every file.
    public let rows: [[Int32]]
    /// Sampled rows in all (s).
    public let count: Int
    /// Rows in all files (N).
    public let totalRows: Int

    /// Exactly round(fraction × N) rows (all when fraction ≥ 1), every subset of that size
    /// equally likely (selection sampling in one pass over the row counts), fixed by `seed`.
    public init(infos: [FeatureFileInfo], fraction: Double, seed: UInt64) throws {
        guard fraction > 0, fraction <= 1 else { throw PipelineError.invalid("sample fraction must lie in (0, 1], got \(fraction)") }
        let total = infos.reduce(0) { $0 + $1.rows }
        let wanted = fraction >= 1 ? total : min(total, Int((fraction * Double(total)).rounded()))
        var rng = SeededRNG(seed: seed)
        var chosen = 0, seen = 0
        var rows: [[Int32]] = []
        for info in infos {
            var picked: [Int32] = []
            if wanted == total {
                picked = (0..<info.rows).map { Int32($0) }
            } else {
                for r in 0..<info.rows {
                    // Selection sampling: take this row with probability (still wanted)/(still left).
                    if Double(wanted - chosen) > rng.nextDouble() * Double(total - seen) {
                        picked.append(Int32(r))
                        chosen += 1
                    }
                    seen += 1
                }
            }
            rows.append(picked)
        }
        self.infos = infos
        self.rows = rows
        self.count = rows.reduce(0) { $0 + $1.count }
        self.totalRows = total
    }

    /// Feature width D.
    public var dimension: Int { infos.first?.dimension ?? 0 }

    /// Calls `body` with consecutive chunks of at most `chunkRows` sampled rows (count, D),
    /// files taken in `order` (indices into `infos`; default folder order), and where each row
    /// came from: `origins` (count) = file index << 32 | row. Every row is checked on the way
    /// (finite, non-zero); the error names the file and row.
    public func forEachChunk(chunkRows: Int = 16384, order: [Int]? = nil,
                             _ body: (_ rows: UnsafePointer<Float>, _ count: Int, _ origins: [Int64]) throws -> Void) throws {
        let d = dimension
        let buffer = Tensor(shape: [chunkRows, d])
        var origins: [Int64] = []
        origins.reserveCapacity(chunkRows)
        for f in order ?? Array(infos.indices) where !rows[f].isEmpty {
            let path = infos[f].path
            let file = try SafeTensorsFile(path: path)
            guard let info = file.info(FeatureFile.Key.features), info.shape == [infos[f].rows, d] else {
                throw PipelineError.badFile(path: path, reason: "\"features\" changed while it was being read")
            }
            var converted: Tensor?
            let base: UnsafePointer<Float>
            let raw = try file.rawBytes(FeatureFile.Key.features)
            if info.dtype == .f32, let p = raw.baseAddress, Int(bitPattern: p) % MemoryLayout<Float>.alignment == 0 {
                base = p.assumingMemoryBound(to: Float.self)
            } else {
                let t = try file.tensor(FeatureFile.Key.features)
                converted = t
                base = UnsafePointer(t.data)
            }
            try withExtendedLifetime(converted) {
                for r in rows[f] {
                    let src = base + Int(r) * d
                    var ss: Float = 0
                    for j in 0..<d { ss += src[j] * src[j] }
                    guard ss.isFinite, ss > 0 else {
                        throw PipelineError.badFile(path: path, reason: "feature row \(r) " + (ss.isFinite ? "is the zero vector (a failed embedding?)" : "holds a NaN or infinite value"))
                    }
                    (buffer.data + origins.count * d).update(from: src, count: d)
                    origins.append(Int64(f) << 32 | Int64(r))
                    if origins.count == chunkRows {
                        try body(buffer.data, origins.count, origins)
                        origins.removeAll(keepingCapacity: true)
                    }
                }
            }
        }
        if !origins.isEmpty { try body(buffer.data, origins.count, origins) }
    }

    /// All sampled rows in one tensor (s, D), in folder order, with their origins (s).
    public func gather() throws -> (features: Tensor, origins: [Int64]) {
        let out = Tensor(shape: [count, dimension])
        var all: [Int64] = []
        all.reserveCapacity(count)
        try forEachChunk { rows, n, origins in
            (out.data + all.count * dimension).update(from: rows, count: n * dimension)
            all += origins
        }
        return (out, all)
    }
}

/// The sampled rows as a `FeatureSource` for the streaming k-means fit; files are visited in a
/// seeded random order (the streaming fit wants no topic order across the stream).
struct SampledFeatureSource: FeatureSource {
    let sample: FeatureSample
    let order: [Int]
    let chunkRows: Int
    var dimension: Int { sample.dimension }

    init(_ sample: FeatureSample, seed: UInt64, chunkRows: Int = 16384) {
        self.sample = sample
        var rng = SeededRNG(seed: seed ^ 0x5eed_f11e)
        var order = Array(sample.infos.indices)
        order.shuffle(using: &rng)
        self.order = order
        self.chunkRows = chunkRows
    }

    func forEachChunk(_ body: (UnsafePointer<Float>, Int) throws -> Void) throws {
        try sample.forEachChunk(chunkRows: chunkRows, order: order) { rows, n, _ in try body(rows, n) }
    }
}
