import MoDEClustering
import Foundation
import MoDENN
import MoDETensor
import MoDEFormats

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
    /// came from: `origins` (count) = file index << 32 | row. F32 rows are read with pread, runs
    /// of consecutive rows at once, so only the chunk is resident (not the mapped file). Every
    /// row is checked on the way (finite, non-zero); the error names the file and row.
    public func forEachChunk(chunkRows: Int = 16384, order: [Int]? = nil,
                             _ body: (_ rows: UnsafePointer<Float>, _ count: Int, _ origins: [Int64]) throws -> Void) throws {
        let d = dimension
        let buffer = Tensor(shape: [chunkRows, d])
        var origins: [Int64] = []
        origins.reserveCapacity(chunkRows)
        for f in order ?? Array(infos.indices) where !rows[f].isEmpty {
            let path = infos[f].path
            let reader = try RowReader(path: path, rows: infos[f].rows, d: d)
            let picked = rows[f]
            var j = 0
            while j < picked.count {
                // A run of consecutive rows that fits the chunk's free space.
                var run = 1
                let room = chunkRows - origins.count
                while run < room, j + run < picked.count, picked[j + run] == picked[j] + Int32(run) { run += 1 }
                let dst = buffer.data + origins.count * d
                try reader.read(dst, from: Int(picked[j]), count: run)
                for t in 0..<run {
                    let r = Int(picked[j]) + t
                    let row = dst + t * d
                    var ss: Float = 0
                    for c in 0..<d { ss += row[c] * row[c] }
                    guard ss.isFinite, ss > 0 else {
                        throw PipelineError.badFile(path: path, reason: "feature row \(r) " + (ss.isFinite ? "is the zero vector (a failed embedding?)" : "holds a NaN or infinite value"))
                    }
                    origins.append(Int64(f) << 32 | Int64(r))
                }
                j += run
                if origins.count == chunkRows {
                    try body(buffer.data, origins.count, origins)
                    origins.removeAll(keepingCapacity: true)
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

/// Reads rows of a feature file's `features` (rows, d): F32 with pread at the tensor's byte
/// offset (nothing mapped stays resident), other float types converted once in memory.
final class RowReader {
    let path: String
    let d: Int
    private var fd: Int32 = -1
    private var offset = 0
    private var converted: Tensor?

    init(path: String, rows: Int, d: Int) throws {
        self.path = path
        self.d = d
        let file = try SafeTensorsFile(path: path)
        guard let info = file.info(FeatureFile.Key.features), info.shape == [rows, d] else {
            throw PipelineError.badFile(path: path, reason: "\"features\" changed while it was being read")
        }
        guard info.dtype == .f32 else {
            converted = try file.tensor(FeatureFile.Key.features)
            return
        }
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PipelineError.badFile(path: path, reason: "cannot open: \(String(cString: strerror(errno)))") }
        var length: UInt64 = 0
        guard pread(fd, &length, 8, 0) == 8 else { throw PipelineError.badFile(path: path, reason: "cannot read the header length") }
        offset = 8 + Int(UInt64(littleEndian: length)) + info.dataOffsets.lowerBound
    }

    deinit { if fd >= 0 { close(fd) } }

    /// dst (count, d) = rows first..<first+count.
    func read(_ dst: UnsafeMutablePointer<Float>, from first: Int, count: Int) throws {
        if let converted {
            dst.update(from: converted.data + first * d, count: count * d)
            return
        }
        let bytes = count * d * 4
        var done = 0
        while done < bytes {
            let n = pread(fd, UnsafeMutableRawPointer(dst) + done, bytes - done, off_t(offset + first * d * 4 + done))
            guard n > 0 else {
                throw PipelineError.badFile(path: path, reason: n == 0 ? "file ends early" : "cannot read: \(String(cString: strerror(errno)))")
            }
            done += n
        }
    }
}
