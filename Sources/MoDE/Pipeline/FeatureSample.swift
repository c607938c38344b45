import MoDEClustering
import Foundation
import MoDENN
import MoDETensor
import MoDEFormats

/// How many feature rows `mode cluster` fits the fine centres on.
public enum SampleSize: Sendable, Equatable, CustomStringConvertible {
    /// The default: at least `minimumPerCentre` rows per fine centre and at least
    /// `defaultFraction` of all rows, capped at all rows.
    case automatic
    /// round(fraction × N) rows, 0 < fraction ≤ 1 (1 = all).
    case fraction(Double)
    /// This many rows (> 1), capped at all rows.
    case rows(Int)

    public static let minimumPerCentre = 256
    public static let defaultFraction = 0.05
    /// Rows per fine centre below which the centres are poorly estimated (FAISS warns there).
    public static let warningPerCentre = 39

    /// Parses `--sample`: a fraction 0 < x ≤ 1 (e.g. 0.05; 1 = all rows), a whole number of
    /// rows > 1 (e.g. 50000), or "auto"; the error says what is expected.
    public init(parsing text: String) throws {
        let t = text.trimmingCharacters(in: .whitespaces)
        let bad = PipelineError.invalid("'\(text)' is neither a fraction of the rows in (0, 1] (e.g. 0.05; 1 = all) nor a whole number of rows above 1 (e.g. 50000)")
        if t == "auto" {
            self = .automatic
        } else if !t.isEmpty, t.allSatisfy({ $0.isASCII && $0.isNumber }) {
            guard let n = Int(t), n >= 1 else { throw bad }
            self = n == 1 ? .fraction(1) : .rows(n)
        } else if let x = Double(t), x.isFinite, x > 0, x <= 1 {
            self = .fraction(x)
        } else {
            throw bad
        }
    }

    /// The rows to sample of `total` for `fine` centres.
    public func rows(total: Int, fine: Int) throws -> Int {
        switch self {
        case .automatic:
            let byFraction = Int((Self.defaultFraction * Double(total)).rounded())
            return min(total, max(Self.minimumPerCentre * fine, byFraction))
        case .fraction(let x):
            guard x > 0, x <= 1 else { throw PipelineError.invalid("sample fraction must lie in (0, 1], got \(x)") }
            return x >= 1 ? total : min(total, Int((x * Double(total)).rounded()))
        case .rows(let n):
            guard n > 1 else { throw PipelineError.invalid("sample row count must exceed 1, got \(n)") }
            return min(total, n)
        }
    }

    /// The warning for fitting `fine` centres on `rows` rows, or nil when there are enough.
    public static func warning(rows: Int, fine: Int) -> String? {
        guard fine > 0, rows < warningPerCentre * fine else { return nil }
        return String(format: "%d sampled rows for %d fine centres is %.1f per centre, under %d (where FAISS warns): the centres are poorly estimated; raise --sample or lower --fine",
                      rows, fine, Double(rows) / Double(fine), warningPerCentre)
    }

    /// As given on the command line ("auto", the fraction, or the row count).
    public var description: String {
        switch self {
        case .automatic: "auto"
        case .fraction(let x): x == 1 ? "1" : "\(x)"
        case .rows(let n): "\(n)"
        }
    }
}

/// Literals read as on the command line: 1 is all rows, another integer a row count, a float a fraction.
extension SampleSize: ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral {
    public init(integerLiteral n: Int) { self = n == 1 ? .fraction(1) : .rows(n) }
    public init(floatLiteral x: Double) { self = .fraction(x) }
}

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

    /// Exactly round(fraction × N) rows (all when fraction ≥ 1); see `init(infos:rows:seed:)`.
    public init(infos: [FeatureFileInfo], fraction: Double, seed: UInt64) throws {
        guard fraction > 0, fraction <= 1 else { throw PipelineError.invalid("sample fraction must lie in (0, 1], got \(fraction)") }
        let total = infos.reduce(0) { $0 + $1.rows }
        try self.init(infos: infos, rows: try SampleSize.fraction(fraction).rows(total: total, fine: 1), seed: seed)
    }

    /// Exactly `wanted` rows (all when `wanted` ≥ N), every subset of that size equally likely
    /// (selection sampling in one pass over the row counts), fixed by `seed` and `wanted`: the
    /// same count and seed on the same files draw the same rows.
    public init(infos: [FeatureFileInfo], rows wanted: Int, seed: UInt64) throws {
        guard wanted >= 0 else { throw PipelineError.invalid("cannot sample \(wanted) rows") }
        let total = infos.reduce(0) { $0 + $1.rows }
        let wanted = min(wanted, total)
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

    /// The sample a clustering was fitted on, drawn again from the files of `folder`: its
    /// `sampleRows` (clusters.json's sample_rows; from older files without it, `fraction` of
    /// the rows) with `seed`. Throws unless the folder still holds `featureRows` rows.
    public init(redrawing infos: [FeatureFileInfo], folder: String, featureRows: Int?, sampleRows: Int?, fraction: Double?,
                seed: UInt64) throws {
        let total = infos.reduce(0) { $0 + $1.rows }
        if let featureRows, featureRows != total {
            throw PipelineError.invalid("\(folder) holds \(total) feature rows, but the clustering sampled from \(featureRows): pass the folder clustered before")
        }
        let wanted = try sampleRows ?? SampleSize.fraction(fraction ?? SampleSize.defaultFraction).rows(total: total, fine: 1)
        try self.init(infos: infos, rows: wanted, seed: seed)
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
