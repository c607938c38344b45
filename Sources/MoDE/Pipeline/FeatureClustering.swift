import MoDEClustering
import Foundation
import MoDENN
import MoDETensor
import MoDEFormats

/// Options of `mode cluster` (see `FeatureClustering.run`).
public struct ClusterOptions: Sendable, Equatable {
    /// Fine centres m.
    public var fine = 1024
    /// Coarse clusters n (the data experts).
    public var coarse = 4
    /// Feature rows the fine step is fitted on (default: `SampleSize.automatic`).
    public var sample: SampleSize = .automatic
    /// Fine k-means iterations (passes when streaming).
    public var iterations = 50
    /// Coarse k-means iterations.
    public var coarseIterations = 100
    public var metric: Metric = .squaredEuclidean
    public var seed: UInt64 = 0
    /// Balance tolerance of both steps (sizes within ±tol of the mean).
    public var tolerance = 0.02
    /// Largest sample matrix (rows × D × 4 bytes) fitted in memory; larger samples are streamed.
    public var inMemoryBytes = 2 << 30
    /// Rows per chunk when streaming.
    public var chunkRows = 16384
    /// Report: largest fine clusters shown per coarse cluster, captions shown per fine cluster.
    public var reportFinePerCoarse = 5
    public var reportExamples = 3

    public init() {}
}

/// Progress of a clustering run: `stage` ("fine", "coarse", "summary", "split"), steps done of
/// `total`, and a short note (objective, balance).
public struct ClusterProgress: Sendable {
    public var stage: String
    public var done: Int
    public var total: Int
    public var note: String
}

/// What `run`/`split` wrote and found.
public struct ClusterSummary: Sendable {
    public var directory: String
    public var hierarchy: ClusterHierarchy
    /// Sampled rows nearest to each fine centre (m); nil when unknown (split without features).
    public var samplePerFine: [Int]?
    public var sampleRows: Int
    public var streamed: Bool
    public var seconds: Double
    /// Warnings about the fit (too few sampled rows per fine centre), also in clusters.json.
    public var warnings: [String] = []

    /// The JSON line of `mode cluster`.
    public struct Line: Codable, Sendable, Equatable {
        public var out: String
        public var fine: Int
        public var coarse: Int
        public var sampleRows: Int
        /// Sampled rows per coarse cluster (empty when unknown).
        public var samplePerCoarse: [Int]
        public var streamed: Bool
        public var seconds: Double
        public var warnings: [String]

        enum CodingKeys: String, CodingKey {
            case out, fine, coarse, sampleRows = "sample_rows", samplePerCoarse = "sample_per_coarse", streamed, seconds, warnings
        }
    }

    public var line: Line {
        var sizes: [Int] = []
        if let perFine = samplePerFine {
            sizes = [Int](repeating: 0, count: hierarchy.coarseCount)
            for (f, c) in hierarchy.fineToCoarse.enumerated() { sizes[Int(c)] += perFine[f] }
        }
        return Line(out: directory, fine: hierarchy.fineCount, coarse: hierarchy.coarseCount, sampleRows: sampleRows,
                    samplePerCoarse: sizes, streamed: streamed, seconds: (seconds * 100).rounded() / 100, warnings: warnings)
    }
}

/// `mode cluster`: fine balanced k-means on a sample of the caption features, the coarse
/// level on the fine centres, and the output folder (clusters.safetensors, clusters.json,
/// report.md), written into a temporary folder and renamed into place.
public enum FeatureClustering {
    public static let hierarchyFile = "clusters.safetensors"
    public static let summaryFile = "clusters.json"
    public static let reportFile = "report.md"

    /// The hierarchy file a user means by `path`: the path itself when it is a file, else the
    /// cluster folder's clusters.safetensors.
    public static func hierarchyPath(_ path: String) -> String {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue { return path }
        return (path as NSString).appendingPathComponent(hierarchyFile)
    }

    /// Clusters the feature folder `features` into `out` (which must not exist unless
    /// `replace`). Memory: the sample in memory when it fits `options.inMemoryBytes`
    /// (s × D × 4 bytes, plus ~100 bytes a row of work space), else streamed: one chunk, the
    /// initial-centre reservoir (max(32m, 4096) rows) and m × D, re-reading the files each pass.
    /// `warn` hears each warning (too few sampled rows per centre) before the fit.
    @discardableResult
    public static func run(features: String, out: String, options: ClusterOptions, replace: Bool = false,
                           progress: ((ClusterProgress) -> Void)? = nil, warn: ((String) -> Void)? = nil) throws -> ClusterSummary {
        let start = Date()
        try checkOutput(out, replace: replace)
        guard options.fine >= 1, options.coarse >= 1 else { throw PipelineError.invalid("--fine and --coarse must be at least 1") }
        guard options.coarse <= options.fine else {
            throw PipelineError.invalid("cannot group \(options.fine) fine centres into \(options.coarse) coarse clusters; lower --coarse")
        }
        let folder = try FeatureDirectory(path: features)
        let infos = try folder.infos()
        try checkSameModel(infos)
        let wanted = try options.sample.rows(total: infos.reduce(0) { $0 + $1.rows }, fine: options.fine)
        let sample = try FeatureSample(infos: infos, rows: wanted, seed: options.seed)
        guard sample.count >= options.fine else {
            throw PipelineError.invalid("cannot form \(options.fine) fine clusters from \(sample.count) sampled rows (--sample \(options.sample) of \(sample.totalRows) rows in \(features)); raise --sample or lower --fine")
        }
        let warnings = SampleSize.warning(rows: sample.count, fine: options.fine).map { [$0] } ?? []
        warnings.forEach { warn?($0) }
        let d = sample.dimension
        let fineOptions = KMeansOptions(iterations: options.iterations, seed: options.seed, balanceTolerance: options.tolerance,
                                        metric: options.metric)
        let streamed = sample.count * d * 4 > options.inMemoryBytes
        let report: (KMeansProgress) -> Void = { p in
            progress?(ClusterProgress(stage: "fine", done: p.iteration, total: options.iterations,
                                      note: String(format: "objective %.5g", p.objective)))
        }
        var inMemory: (features: Tensor, origins: [Int64])?
        let fit: KMeansResult
        do {
            if streamed {
                let source = SampledFeatureSource(sample, seed: options.seed, chunkRows: options.chunkRows)
                fit = try KMeans.fit(streaming: source, k: options.fine, options: fineOptions, progress: report)
            } else {
                let gathered = try sample.gather()
                inMemory = gathered
                fit = try KMeans.fit(gathered.features, k: options.fine, options: fineOptions, progress: report)
            }
        } catch let e as ClusteringError {
            throw PipelineError.invalid("fine clustering of \(features): \(e.description)")
        }
        var coarseOptions = ClusterHierarchy.coarseOptions
        coarseOptions.iterations = options.coarseIterations
        coarseOptions.seed = options.seed
        coarseOptions.metric = options.metric
        coarseOptions.balanceTolerance = options.tolerance
        progress?(ClusterProgress(stage: "coarse", done: 0, total: 1, note: ""))
        let hierarchy = try ClusterHierarchy.build(fineCentres: fit.centres, coarseClusters: options.coarse,
                                                   fineSizes: fit.sizes.map { max($0, 1e-3) }, options: coarseOptions)
        progress?(ClusterProgress(stage: "coarse", done: 1, total: 1, note: ""))

        let nearest = try NearestSummary(hierarchy: hierarchy, examples: options.reportExamples) { body in
            if let inMemory {
                try chunks(of: inMemory.features, origins: inMemory.origins, rows: options.chunkRows, body)
            } else {
                try sample.forEachChunk(chunkRows: options.chunkRows, body)
            }
        }
        let captions = try nearest.exampleCaptions(infos: infos)
        let info = ClusteringSummary(features: features, model: infos[0].model, pooling: infos[0].pooling,
                                     featureRows: sample.totalRows, featureFiles: infos.count, sampleRows: sample.count,
                                     streamed: streamed, options: options, fineFitSizes: fit.sizes.map { Double($0) },
                                     fineObjective: fit.objectives.last ?? 0, warnings: warnings)
        try writeOutputs(out, hierarchy: hierarchy, samplePerFine: nearest.counts, examples: captions, info: info, replace: replace)
        return ClusterSummary(directory: out, hierarchy: hierarchy, samplePerFine: nearest.counts, sampleRows: sample.count,
                              streamed: streamed, seconds: Date().timeIntervalSince(start), warnings: warnings)
    }

    /// Re-clusters the fine centres of coarse cluster `cluster` of the clustering in `clusters`
    /// into `parts` balanced groups: part 0 keeps id `cluster`, part p gets id n + p − 1; other
    /// clusters keep their ids and centres. With `features` (the folder clustered before), the
    /// same sample (its recorded row count and seed) is drawn again for the report's sizes and captions.
    public static func split(clusters: String, cluster: Int, parts: Int, out: String, features: String? = nil,
                             replace: Bool = false, progress: ((ClusterProgress) -> Void)? = nil) throws -> ClusterSummary {
        let start = Date()
        try checkOutput(out, replace: replace)
        let old = try ClusterHierarchy(contentsOf: (clusters as NSString).appendingPathComponent(hierarchyFile))
        let previous = try readSummary(clusters)
        let saved = previous.options
        let n = old.coarseCount
        guard cluster >= 0, cluster < n else { throw PipelineError.invalid("--split \(cluster): the clustering has coarse clusters 0..<\(n)") }
        guard parts >= 2 else { throw PipelineError.invalid("--parts must be at least 2") }
        let members = old.fineToCoarse.indices.filter { old.fineToCoarse[$0] == Int32(cluster) }
        guard members.count >= parts else {
            throw PipelineError.invalid("coarse cluster \(cluster) has \(members.count) fine centres; cannot split it into \(parts) parts")
        }
        let d = old.dimension
        let sub = Tensor(shape: [members.count, d])
        for (i, f) in members.enumerated() { (sub.data + i * d).update(from: old.fineCentres.data + f * d, count: d) }
        let fitSizes = previous.fineFitSizes ?? previous.samplePerFine?.map(Double.init)
        let memberWeights: [Float]? = fitSizes.flatMap { s in s.count == old.fineCount ? members.map { Float(max(s[$0], 1e-3)) } : nil }
        var opts = ClusterHierarchy.coarseOptions
        opts.iterations = saved.coarseIterations
        opts.seed = saved.seed
        opts.metric = old.metric
        opts.balanceTolerance = saved.tolerance
        progress?(ClusterProgress(stage: "split", done: 0, total: 1, note: ""))
        let result = try KMeans.fit(sub, k: parts, weights: memberWeights, options: opts)
        progress?(ClusterProgress(stage: "split", done: 1, total: 1, note: ""))
        var map = old.fineToCoarse
        for (i, f) in members.enumerated() {
            let p = Int(result.assignment[i])
            map[f] = p == 0 ? Int32(cluster) : Int32(n + p - 1)
        }
        let coarse = Tensor(shape: [n + parts - 1, d])
        coarse.data.update(from: old.coarseCentres.data, count: n * d)
        for p in 0..<parts {
            let id = p == 0 ? cluster : n + p - 1
            (coarse.data + id * d).update(from: result.centres.data + p * d, count: d)
        }
        let hierarchy = try ClusterHierarchy(fineCentres: old.fineCentres, coarseCentres: coarse, fineToCoarse: map, metric: old.metric)

        var info = previous
        info.split = ClusteringSummary.Split(from: clusters, cluster: cluster, parts: parts, newIds: [cluster] + (0..<(parts - 1)).map { n + $0 })
        var samplePerFine = previous.samplePerFine.flatMap { $0.count == old.fineCount ? $0 : nil }
        var captions: [[String]]? = nil
        var sampleRows = previous.sampleRows
        if let features {
            let infos = try FeatureDirectory(path: features).infos()
            guard infos[0].dimension == d else {
                throw PipelineError.badFile(path: infos[0].path, reason: "feature width \(infos[0].dimension) differs from the clustering's \(d)")
            }
            let sample = try FeatureSample(redrawing: infos, folder: features, featureRows: previous.featureRows,
                                           sampleRows: previous.sampleRows, fraction: nil, seed: opts.seed)
            let nearest = try NearestSummary(hierarchy: hierarchy, examples: 3) { body in try sample.forEachChunk(body) }
            samplePerFine = nearest.counts
            captions = try nearest.exampleCaptions(infos: infos)
            sampleRows = sample.count
            info.features = features
        }
        info.sampleRows = sampleRows
        try writeOutputs(out, hierarchy: hierarchy, samplePerFine: samplePerFine, examples: captions, info: info, replace: replace)
        return ClusterSummary(directory: out, hierarchy: hierarchy, samplePerFine: samplePerFine, sampleRows: sampleRows,
                              streamed: false, seconds: Date().timeIntervalSince(start))
    }

    /// clusters.json of a cluster folder.
    public static func readSummary(_ directory: String) throws -> ClusteringSummary {
        try JSONFile.read(ClusteringSummary.self, from: (directory as NSString).appendingPathComponent(summaryFile))
    }

    static func checkOutput(_ out: String, replace: Bool) throws {
        if FileManager.default.fileExists(atPath: out) && !replace { throw PipelineError.outputExists(path: out) }
    }

    static func checkSameModel(_ infos: [FeatureFileInfo]) throws {
        if let bad = infos.first(where: { $0.model != infos[0].model }) {
            throw PipelineError.badFile(path: bad.path, reason: "made with model \"\(bad.model)\", but \(infos[0].path) with \"\(infos[0].model)\"")
        }
    }

    /// Serves an in-memory sample in chunks (copied, so the callee sees a chunk buffer).
    static func chunks(of features: Tensor, origins: [Int64], rows: Int,
                       _ body: (UnsafePointer<Float>, Int, [Int64]) throws -> Void) throws {
        let n = features.shape[0], d = features.shape[1]
        var r0 = 0
        while r0 < n {
            let m = min(rows, n - r0)
            try body(features.data + r0 * d, m, Array(origins[r0..<(r0 + m)]))
            r0 += m
        }
    }

    /// Writes the three files into a temporary folder beside `out` and renames it into place.
    static func writeOutputs(_ out: String, hierarchy: ClusterHierarchy, samplePerFine: [Int]?, examples: [[String]]?,
                             info: ClusteringSummary, replace: Bool) throws {
        let fm = FileManager.default
        let parent = FilePaths.parent(out)
        let name = (out as NSString).lastPathComponent
        let base = parent.isEmpty ? "." : parent
        try fm.createDirectory(atPath: base, withIntermediateDirectories: true)
        let temp = (base as NSString).appendingPathComponent(".\(name).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try fm.createDirectory(atPath: temp, withIntermediateDirectories: false)
        do {
            var summary = info
            summary.setSizes(hierarchy, samplePerFine: samplePerFine)
            var meta = ["fine": String(summary.fine), "coarse": String(summary.coarse)]
            if let f = summary.features { meta["features"] = f }
            if let model = summary.model { meta["model"] = model }
            try hierarchy.write(to: (temp as NSString).appendingPathComponent(hierarchyFile), metadata: meta)
            try JSONFile.write(summary, to: (temp as NSString).appendingPathComponent(summaryFile))
            let md = ClusterReport.markdown(hierarchy: hierarchy, summary: summary, examples: examples)
            try AtomicFile.write(Data(md.utf8), to: (temp as NSString).appendingPathComponent(reportFile))
            if fm.fileExists(atPath: out) {
                guard replace else { throw PipelineError.outputExists(path: out) }
                let trash = temp + "-old"
                try fm.moveItem(atPath: out, toPath: trash)
                try fm.moveItem(atPath: temp, toPath: out)
                try? fm.removeItem(atPath: trash)
            } else {
                try fm.moveItem(atPath: temp, toPath: out)
            }
        } catch {
            try? fm.removeItem(atPath: temp)
            throw error
        }
    }
}

/// One pass over sampled rows: the nearest fine centre of each (as `mode assign` does), counts
/// per fine centre, and the `examples` rows nearest to every fine centre.
struct NearestSummary {
    var counts: [Int]
    /// Per fine centre, up to `examples` (squared distance, origin) pairs, nearest first.
    var nearest: [[(distance: Float, origin: Int64)]]

    init(hierarchy: ClusterHierarchy, examples: Int,
         rows: ((UnsafePointer<Float>, Int, [Int64]) throws -> Void) throws -> Void) throws {
        let m = hierarchy.fineCount, d = hierarchy.dimension
        var counts = [Int](repeating: 0, count: m)
        var nearest = [[(distance: Float, origin: Int64)]](repeating: [], count: m)
        var index: [Int32] = [], distance: [Float] = []
        try rows { x, n, origins in
            if index.count < n {
                index = [Int32](repeating: 0, count: n)
                distance = [Float](repeating: 0, count: n)
            }
            index.withUnsafeMutableBufferPointer { ip in
                distance.withUnsafeMutableBufferPointer { dp in
                    NearestCentres.assign(ip.baseAddress!, dp.baseAddress!, x, hierarchy.fineCentres.data, n: n, d: d, k: m)
                }
            }
            for i in 0..<n {
                let f = Int(index[i])
                counts[f] += 1
                guard examples > 0 else { continue }
                var list = nearest[f]
                if list.count < examples || distance[i] < list[list.count - 1].distance {
                    list.append((distance[i], origins[i]))
                    list.sort { $0.distance < $1.distance }
                    if list.count > examples { list.removeLast() }
                    nearest[f] = list
                }
            }
        }
        self.counts = counts
        self.nearest = nearest
    }

    /// The captions of the nearest rows, per fine centre (read from the feature files).
    func exampleCaptions(infos: [FeatureFileInfo]) throws -> [[String]] {
        var byFile: [Int: [Int]] = [:]
        for list in nearest { for e in list { byFile[Int(e.origin >> 32), default: []].append(Int(e.origin & 0xffff_ffff)) } }
        var text: [Int64: String] = [:]
        for (f, rows) in byFile {
            let file = try SafeTensorsFile(path: infos[f].path)
            let captions = try TextList.read(file, FeatureFile.Key.captions, count: infos[f].rows)
            for r in rows { text[Int64(f) << 32 | Int64(r)] = captions[r] }
        }
        return nearest.map { $0.map { text[$0.origin] ?? "" } }
    }
}

/// report.md of a cluster folder: sizes of every coarse cluster, and per coarse cluster its
/// largest fine clusters with the captions nearest their centres.
enum ClusterReport {
    static func markdown(hierarchy: ClusterHierarchy, summary info: ClusteringSummary, examples: [[String]]?,
                         finePerCoarse shown: Int = 5) -> String {
        let samplePerFine = info.samplePerFine, samplePerCoarse = info.samplePerCoarse
        let m = hierarchy.fineCount, n = hierarchy.coarseCount
        var members = [[Int]](repeating: [], count: n)
        for (f, c) in hierarchy.fineToCoarse.enumerated() { members[Int(c)].append(f) }
        var s = "# Clusters\n\n"
        s += "\(m) fine centres in \(n) coarse clusters (data experts), metric \(hierarchy.metric.rawValue), dimension \(hierarchy.dimension).\n"
        if let f = info.features { s += "Features: `\(f)`" + (info.model.map { ", model `\($0)`" } ?? "") + ".\n" }
        if let total = info.featureRows { s += "Fine centres fitted on \(info.sampleRows) of \(total) feature rows.\n" }
        if let split = info.split {
            s += "Coarse cluster \(split.cluster) was split into clusters \(split.newIds.map(String.init).joined(separator: ", ")).\n"
        }
        s += "\nSample points are counted by nearest fine centre, as `mode assign` assigns data.\n\n"
        s += "| coarse | fine centres | sample points | share |\n|---:|---:|---:|---:|\n"
        let totalSample = samplePerCoarse?.reduce(0, +) ?? 0
        for c in 0..<n {
            let pts = samplePerCoarse.map { String($0[c]) } ?? "–"
            let share = samplePerCoarse.map { totalSample > 0 ? String(format: "%.1f%%", 100 * Double($0[c]) / Double(totalSample)) : "–" } ?? "–"
            s += "| \(c) | \(members[c].count) | \(pts) | \(share) |\n"
        }
        for c in 0..<n {
            s += "\n## Coarse cluster \(c)\n\n"
            s += "\(members[c].count) fine centres" + (samplePerCoarse.map { ", \($0[c]) sample points" } ?? "") + ".\n"
            guard let samplePerFine else { continue }
            let largest = members[c].sorted { (samplePerFine[$0], $1) > (samplePerFine[$1], $0) }.prefix(shown)
            for f in largest {
                s += "\n- fine \(f) (\(samplePerFine[f]) points)\n"
                for caption in examples?[f] ?? [] { s += "  - \(caption)\n" }
            }
        }
        return s
    }
}
