import MoDEClustering
import Foundation
import MoDENN
import MoDETensor
import MoDEFormats

/// Nearest-fine-centre assignment of one shard's features, as `mode assign` writes it
/// (ASSIGNDIR/<stem>.safetensors, the stem of its feature file): `fine` I32 (N), `distance` F32
/// (N) squared Euclidean to that centre, `keys` U8 (as in the feature file). Metadata: format,
/// shard, features (the feature file), clusters (the clusters file), fine (m), coarse (n),
/// fine_centres_hash (identifies the fine centres, so assignments survive a coarse split but not
/// a new fine clustering), count.
public enum ShardAssignment {
    public enum Key {
        public static let fine = "fine"
        public static let distance = "distance"
        public static let keys = "keys"
        public static let countsFile = "counts.json"
    }

    /// Progress: files done of this worker's files, rows assigned so far.
    public struct Progress: Sendable {
        public var filesDone: Int
        public var filesTotal: Int
        public var rows: Int
    }

    /// What one run did.
    public struct Summary: Sendable {
        public var written: [String] = []
        public var alreadyDone = 0
        public var rows = 0
        /// Samples per coarse cluster over all assignment files present afterwards.
        public var countsPerCoarse: [Int] = []
        public var total = 0
        public var seconds = 0.0

        /// The JSON line of `mode assign` for output folder `out`.
        public func line(out: String) -> Line {
            Line(out: out, filesWritten: written.count, alreadyDone: alreadyDone, rows: rows, total: total,
                 perCoarse: countsPerCoarse, seconds: (seconds * 100).rounded() / 100)
        }
    }

    /// The JSON line of `mode assign`.
    public struct Line: Codable, Sendable, Equatable {
        public var out: String
        public var filesWritten: Int
        public var alreadyDone: Int
        public var rows: Int
        public var total: Int
        public var perCoarse: [Int]
        public var seconds: Double

        enum CodingKeys: String, CodingKey {
            case out, filesWritten = "files_written", alreadyDone = "already_done", rows, total, perCoarse = "per_coarse", seconds
        }
    }

    /// Hash of the fine centres (16 hex digits) recorded in every assignment file.
    public static func fineCentresHash(_ h: ClusterHierarchy) -> String {
        let bytes = UnsafeRawBufferPointer(start: h.fineCentres.data, count: h.fineCentres.count * 4)
        return String(format: "%016llx", StableHash.fnv1a(bytes))
    }

    /// Assigns this worker's feature files (index % N == i over the sorted folder) one at a
    /// time, skipping files whose output is already valid, then rewrites counts.json from every
    /// assignment file present.
    /// `clusters` is a cluster folder or its clusters.safetensors.
    public static func run(features: String, clusters: String, out: String, worker: WorkerSlice = .all,
                           progress: ((Progress) -> Void)? = nil) throws -> Summary {
        let start = Date()
        let clustersFile = FeatureClustering.hierarchyPath(clusters)
        let hierarchy = try ClusterHierarchy(contentsOf: clustersFile)
        let folder = try FeatureDirectory(path: features)
        let infos = try folder.infos()
        if infos[0].dimension != hierarchy.dimension {
            throw PipelineError.badFile(path: infos[0].path, reason: "feature width \(infos[0].dimension) differs from the clusters' \(hierarchy.dimension) in \(clustersFile)")
        }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let hash = fineCentresHash(hierarchy)
        var summary = Summary()
        let mine = infos.indices.filter { worker.owns($0) }
        var state = Progress(filesDone: 0, filesTotal: mine.count, rows: 0)
        progress?(state)
        for i in mine {
            let info = infos[i]
            let target = (out as NSString).appendingPathComponent((info.path as NSString).lastPathComponent)
            if isValidOutput(target, rows: info.rows, hierarchy: hierarchy, hash: hash) {
                summary.alreadyDone += 1
            } else {
                let file = try SafeTensorsFile(path: info.path)
                let result = try nearestFine(file, rows: info.rows, hierarchy: hierarchy)
                let keyBytes = try file.rawBytes(FeatureFile.Key.keys)
                _ = try TextList.read(file, FeatureFile.Key.keys, count: info.rows)
                var w = SafeTensorsWriter()
                w.add(Key.fine, int32s: result.index, shape: [info.rows])
                result.distance.withUnsafeBufferPointer { w.add(Key.distance, $0.baseAddress!, shape: [info.rows]) }
                w.add(Key.keys, bytes: Array(keyBytes), dtype: .u8, shape: [keyBytes.count])
                try w.write(to: target, metadata: AssignmentMetadata(
                    shard: info.shard, features: info.path, clusters: clustersFile, fine: hierarchy.fineCount,
                    coarse: hierarchy.coarseCount, fineCentresHash: hash, count: info.rows).metadata)
                summary.written.append(target)
                summary.rows += info.rows
                state.rows += info.rows
            }
            state.filesDone += 1
            progress?(state)
        }
        let counts = try writeCounts(directory: out, hierarchy: hierarchy, clustersFile: clustersFile)
        summary.countsPerCoarse = counts.perCoarse
        summary.total = counts.total
        summary.seconds = Date().timeIntervalSince(start)
        return summary
    }

    /// Nearest fine centre and squared distance of every feature row of `file` (rows, D),
    /// read in place from the mapping when stored as aligned F32 (no copy). Rows are checked
    /// (finite, non-zero); the error names the file and row.
    static func nearestFine(_ file: SafeTensorsFile, rows n: Int, hierarchy: ClusterHierarchy) throws -> (index: [Int32], distance: [Float]) {
        let d = hierarchy.dimension
        guard let info = file.info(FeatureFile.Key.features), info.shape == [n, d] else {
            throw PipelineError.badFile(path: file.path, reason: "\"features\" is not (\(n), \(d))")
        }
        var converted: Tensor?
        let raw = try file.rawBytes(FeatureFile.Key.features)
        let x: UnsafePointer<Float>
        if info.dtype == .f32, let p = raw.baseAddress, Int(bitPattern: p) % MemoryLayout<Float>.alignment == 0 {
            x = p.assumingMemoryBound(to: Float.self)
        } else {
            let t = try file.tensor(FeatureFile.Key.features)
            converted = t
            x = UnsafePointer(t.data)
        }
        return try withExtendedLifetime(converted) {
            let norms = Tensor(shape: [n])
            NearestCentres.rowSquaredNorms(norms.data, x, n: n, d: d)
            for i in 0..<n where !(norms.data[i].isFinite && norms.data[i] > 0) {
                throw PipelineError.badFile(path: file.path, reason: "feature row \(i) " + (norms.data[i].isFinite
                    ? "is the zero vector (a failed embedding?)" : "holds a NaN or infinite value"))
            }
            var index = [Int32](repeating: 0, count: n), distance = [Float](repeating: 0, count: n)
            index.withUnsafeMutableBufferPointer { ip in
                distance.withUnsafeMutableBufferPointer { dp in
                    guard let ip = ip.baseAddress, let dp = dp.baseAddress else { return }
                    NearestCentres.assign(ip, dp, x, hierarchy.fineCentres.data, n: n, d: d, k: hierarchy.fineCount)
                }
            }
            return (index, distance)
        }
    }

    /// Whether `path` is a complete assignment of `rows` rows against these fine centres.
    static func isValidOutput(_ path: String, rows: Int, hierarchy: ClusterHierarchy, hash: String) -> Bool {
        guard FileManager.default.fileExists(atPath: path), let file = try? SafeTensorsFile(path: path),
              let meta = try? AssignmentMetadata(metadata: file.metadata, path: path),
              meta.fineCentresHash == hash, meta.fine == hierarchy.fineCount, meta.count == rows,
              file.info(Key.fine)?.shape == [rows], file.info(Key.distance)?.shape == [rows] else { return false }
        return (try? TextList.read(file, Key.keys, count: rows)) != nil
    }

    /// Samples per fine centre and per coarse cluster over every assignment file in `directory`.
    public struct Counts: Sendable, Equatable {
        public var perFine: [Int]
        public var perCoarse: [Int]
        public var total: Int
        public var files: Int
    }

    /// Counts the assignment files in `directory` (checked against `hierarchy`) and writes
    /// counts.json (`AssignmentCounts`) atomically.
    @discardableResult
    public static func writeCounts(directory: String, hierarchy: ClusterHierarchy, clustersFile: String) throws -> Counts {
        let m = hierarchy.fineCount, n = hierarchy.coarseCount
        let hash = fineCentresHash(hierarchy)
        var perFine = [Int](repeating: 0, count: m)
        let files = try safetensorsFiles(in: directory)
        for path in files {
            let file = try SafeTensorsFile(path: path)
            let fine = try checkedFine(file, hierarchy: hierarchy, hash: hash)
            for f in fine { perFine[Int(f)] += 1 }
        }
        var perCoarse = [Int](repeating: 0, count: n)
        for (f, c) in hierarchy.fineToCoarse.enumerated() { perCoarse[Int(c)] += perFine[f] }
        let total = perFine.reduce(0, +)
        try JSONFile.write(AssignmentCounts(total: total, files: files.count, fine: m, coarse: n, clusters: clustersFile,
                                            perCoarse: perCoarse, perFine: perFine),
                           to: (directory as NSString).appendingPathComponent(Key.countsFile))
        return Counts(perFine: perFine, perCoarse: perCoarse, total: total, files: files.count)
    }

    /// The `fine` indices of an assignment file, checked against the hierarchy (fine count,
    /// centres hash, index range); the error names the file.
    static func checkedFine(_ file: SafeTensorsFile, hierarchy: ClusterHierarchy, hash: String) throws -> [Int32] {
        let m = hierarchy.fineCount
        let meta = try AssignmentMetadata(metadata: file.metadata, path: file.path)
        guard file.contains(Key.fine) else { throw PipelineError.badFile(path: file.path, reason: "no \"fine\" tensor") }
        if meta.fine != m {
            throw PipelineError.badFile(path: file.path, reason: "assigned to \(meta.fine) fine centres, but the clusters have \(m); re-run mode assign with these clusters")
        }
        if meta.fineCentresHash != hash {
            throw PipelineError.badFile(path: file.path, reason: "assigned with other fine centres (\(meta.clusters)) than these clusters; re-run mode assign")
        }
        let fine = try file.int32s(Key.fine)
        if let bad = fine.firstIndex(where: { $0 < 0 || Int($0) >= m }) {
            throw PipelineError.badFile(path: file.path, reason: "row \(bad) is assigned to fine centre \(fine[bad]), outside 0..<\(m)")
        }
        return fine
    }
}

/// All assignments of a folder in memory, for filtering training samples by (shard, key):
/// one dictionary key → fine centre per shard stem.
public struct AssignmentSet: Sendable {
    public let hierarchy: ClusterHierarchy
    private let byStem: [String: KeyTable]
    /// Samples per coarse cluster (expert).
    public let countsPerCoarse: [Int]
    /// Samples per fine centre.
    public let countsPerFine: [Int]
    /// Stems of the loaded assignment files, sorted.
    public var stems: [String] { byStem.keys.sorted() }
    /// Samples in all.
    public var total: Int { countsPerFine.reduce(0, +) }

    /// Loads every assignment file of `directory`; throws naming the file when one was made
    /// with other fine centres, holds an index ≥ m, or its keys do not match its rows.
    public init(directory: String, hierarchy: ClusterHierarchy) throws {
        let hash = ShardAssignment.fineCentresHash(hierarchy)
        var byStem: [String: KeyTable] = [:]
        var perFine = [Int](repeating: 0, count: hierarchy.fineCount)
        for path in try safetensorsFiles(in: directory) {
            let file = try SafeTensorsFile(path: path)
            let fine = try ShardAssignment.checkedFine(file, hierarchy: hierarchy, hash: hash)
            let keys = try TextList.read(file, ShardAssignment.Key.keys, count: fine.count)
            for f in fine { perFine[Int(f)] += 1 }
            let stem = String((path as NSString).lastPathComponent.dropLast(".safetensors".count))
            byStem[stem] = KeyTable(keys: keys, values: fine)
        }
        var perCoarse = [Int](repeating: 0, count: hierarchy.coarseCount)
        for (f, c) in hierarchy.fineToCoarse.enumerated() { perCoarse[Int(c)] += perFine[f] }
        self.hierarchy = hierarchy
        self.byStem = byStem
        self.countsPerFine = perFine
        self.countsPerCoarse = perCoarse
    }

    /// The assignments of a shard path as a loader sees it: its parent-prefixed stem
    /// (`parent_stem`, used when base names collide) if present, else its base stem.
    func map(for shard: String) -> KeyTable? {
        let stem = baseStem(shard)
        let parent = (FilePaths.parent(shard) as NSString).lastPathComponent
        if !parent.isEmpty, let m = byStem[parent + "_" + stem] { return m }
        return byStem[stem]
    }

    /// Fine centre of sample `key` of `shard`, or nil when it was not assigned.
    public func fine(shard: String, key: String) -> Int32? { map(for: shard)?.value(key) }

    /// Coarse cluster (expert) of sample `key` of `shard`, or nil when it was not assigned.
    public func coarse(shard: String, key: String) -> Int32? {
        fine(shard: shard, key: key).map { hierarchy.fineToCoarse[Int($0)] }
    }
}

/// A shard's key → value table in 12 bytes per key: the keys' 64-bit hashes sorted, with their
/// values beside them, looked up by binary search (a `[String: Int32]` costs about 100 bytes per
/// key, too much for expert training over hundreds of millions of pairs). Two different keys of
/// one shard share a hash with probability about n²/2⁶⁵ (3·10⁻⁸ for a million keys); a key
/// listed twice keeps its last value, as a dictionary would.
struct KeyTable: Sendable {
    let hashes: [UInt64]
    let values: [Int32]

    init(keys: [String], values: [Int32]) {
        precondition(keys.count == values.count, "KeyTable: one value per key")
        let h = keys.map { StableHash.key($0) }
        // Sort by hash, then by position, and keep the last of equal hashes.
        let order = h.indices.sorted { h[$0] != h[$1] ? h[$0] < h[$1] : $0 < $1 }
        var hs: [UInt64] = [], vs: [Int32] = []
        hs.reserveCapacity(keys.count)
        vs.reserveCapacity(keys.count)
        for i in order {
            if let last = hs.last, last == h[i] { vs[vs.count - 1] = values[i] } else { hs.append(h[i]); vs.append(values[i]) }
        }
        hashes = hs
        self.values = vs
    }

    /// The value of `key`, or nil.
    func value(_ key: String) -> Int32? {
        let target = StableHash.key(key)
        var lo = 0, hi = hashes.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if hashes[mid] < target { lo = mid + 1 } else { hi = mid }
        }
        return lo < hashes.count && hashes[lo] == target ? values[lo] : nil
    }
}

extension ExpertSelection {
    /// The selection of an expert training on coarse `clusters`, looking samples up in
    /// `assignments` (see `AssignmentSet.coarse(shard:key:)`).
    public init(clusters: Set<Int32>, outOfClusterRatio: Double = 0.02, seed: UInt64 = 0, assignments: AssignmentSet) throws {
        try self.init(clusters: clusters, outOfClusterRatio: outOfClusterRatio, seed: seed) { key, shard in
            assignments.coarse(shard: shard, key: key)
        }
    }
}
