import ArgumentParser
import Foundation
import MoDE

struct Cluster: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Two-step balanced clustering of caption features into fine centres and coarse clusters (the data experts).",
        discussion: """
        Fit: mode cluster --features FEATDIR --fine 1024 --coarse 4 --out CLUSTERDIR
        Fine step: balanced k-means with --fine centres on a seeded uniform sample of the rows of \
        all files in FEATDIR. --sample: by default max(256 × --fine, 5% of the rows), capped at all \
        rows; or a fraction in (0, 1] (1 = all), or a whole number of rows above 1. Under 39 \
        sampled rows per fine centre (where FAISS warns) a warning goes to standard error and into \
        clusters.json. Coarse step: balanced k-means with \
        --coarse clusters on the fine centres, each weighted by its cluster's size. Writes, into a \
        temporary folder renamed into place when complete:
          clusters.safetensors  fine_centres (m, D), coarse_centres (n, D), fine_to_coarse (m)
          clusters.json         sizes (fine centres and sample points per coarse cluster, sample \
        points per fine centre, max/min), sample_rows (the rows sampled), options, feature folder, \
        model, warnings
          report.md             size of every coarse cluster and, per coarse cluster, its largest \
        fine clusters with the sample captions nearest their centres
        Memory: the sample is fitted in memory when its matrix (sampled rows × D × 4 bytes) fits \
        in --memory-mb, needing about that plus 100 bytes a row (measured: 5% of 2M rows of \
        width 768, --fine 1024: 370 MiB peak RSS); otherwise it is streamed from the files each \
        iteration, needing one chunk of 16384 rows, two copies of a reservoir of \
        max(32·fine, 4096) rows for the first centres, and the centres (measured at D = 768, \
        --fine 1024: 300 MiB peak RSS, whatever the sample size). Sampled rows are read with \
        pread, so the feature files themselves are not held in memory.

        Split: mode cluster --clusters CLUSTERDIR --split C [--parts 2] --out NEWDIR [--features FEATDIR]
        Re-clusters the fine centres of coarse cluster C into --parts balanced groups: part 0 \
        keeps id C, further parts get ids n, n+1, …; every other cluster keeps its id and centre. \
        The fine centres do not change, so existing `mode assign` outputs stay valid. With \
        --features (the folder clustered before) the same sample (sample_rows, seed) is drawn again for the report's \
        sizes and captions; without, sizes come from CLUSTERDIR/clusters.json.
        """)

    @Option(help: "Feature folder written by `mode embed --shards`.") var features: String?
    @Option(help: "Output folder (must not exist unless --force).") var out: String
    @Option(help: "Fine centres m.") var fine = 1024
    @Option(help: "Coarse clusters n (the number of experts).") var coarse = 4
    @Option(help: ArgumentHelp("Rows the fine step is fitted on: a fraction in (0, 1] (1 = all) or a row count above 1; default auto: max(256 × --fine, 5%), at most all.",
                               valueName: "fraction|rows"), transform: SampleSize.init(parsing:))
    var sample: SampleSize?
    @Option(help: "Fine k-means iterations.") var iters = 50
    @Option(help: "Coarse k-means iterations.") var coarseIters = 100
    @Option(help: "Distance: euclidean (squared Euclidean) or cosine (spherical k-means).") var metric = ClusterMetric.euclidean
    @Option(help: "Seed of the sample, initial centres and repairs.") var seed: UInt64 = 0
    @Option(help: "Balance tolerance: cluster sizes within ±tol of the mean.") var tol = 0.02
    @Option(help: "Largest sample matrix fitted in memory, in MiB; larger samples are streamed.") var memoryMb = 2048
    @Option(help: "Split: the cluster folder to start from.") var clusters: String?
    @Option(help: "Split: the coarse cluster to split.") var split: Int?
    @Option(help: "Split: number of parts.") var parts = 2
    @Flag(help: "Replace --out if it exists.") var force = false
    @OptionGroup(title: "Compute") var compute: ComputeOptions

    /// The distance as the option names it.
    enum ClusterMetric: String, ExpressibleByArgument, CaseIterable {
        case euclidean, l2, cosine
        var metric: Metric { self == .cosine ? .cosine : .squaredEuclidean }
    }

    func validate() throws {
        if split != nil || clusters != nil {
            guard split != nil, clusters != nil else { throw ValidationError("splitting needs both --clusters and --split") }
            guard parts >= 2 else { throw ValidationError("--parts must be at least 2") }
        } else {
            guard features != nil else { throw ValidationError("give --features FEATDIR (or --clusters with --split)") }
            guard fine >= 1, coarse >= 1 else { throw ValidationError("--fine and --coarse must be at least 1") }
            guard coarse <= fine else { throw ValidationError("--coarse (\(coarse)) cannot exceed --fine (\(fine))") }
            guard iters >= 1, coarseIters >= 1 else { throw ValidationError("--iters and --coarse-iters must be at least 1") }
            guard tol >= 0, tol < 1 else { throw ValidationError("--tol must lie in [0, 1)") }
            guard memoryMb >= 1 else { throw ValidationError("--memory-mb must be at least 1") }
        }
    }

    func run() throws {
        try compute.apply()
        var bar: ProgressBar?
        var stage = ""
        let progress: (ClusterProgress) -> Void = { p in
            if p.stage != stage {
                bar?.finish()
                stage = p.stage
                bar = ProgressBar(p.stage, total: p.total, unit: p.stage == "fine" ? "it" : "steps")
            }
            bar?.update(p.done, note: p.note)
        }
        let summary: ClusterSummary
        if let clusters, let split {
            summary = try FeatureClustering.split(clusters: clusters, cluster: split, parts: parts, out: out,
                                                  features: features, replace: force, progress: progress)
        } else {
            var o = ClusterOptions()
            o.fine = fine
            o.coarse = coarse
            o.sample = sample ?? .automatic
            o.iterations = iters
            o.coarseIterations = coarseIters
            o.metric = metric.metric
            o.seed = seed
            o.tolerance = tol
            o.inMemoryBytes = memoryMb << 20
            summary = try FeatureClustering.run(features: features ?? "", out: out, options: o, replace: force, progress: progress,
                                                warn: { FileHandle.standardError.write(Data("warning: \($0)\n".utf8)) })
        }
        bar?.finish()
        try printJSONLine(summary.line)
    }
}

/// `--sample` values; the option parses with `SampleSize(parsing:)`, whose error says what is expected.
extension SampleSize: ExpressibleByArgument {
    public init?(argument: String) { try? self.init(parsing: argument) }
}

struct Assign: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Assign every caption feature to its nearest fine centre (and so to a data expert).",
        discussion: """
        For every feature file FEATDIR/<stem>.safetensors writes ASSIGNDIR/<stem>.safetensors: \
        `fine` I32 (N), the nearest fine centre; `distance` F32 (N), its squared Euclidean \
        distance; `keys` U8 (the sample keys, joined by newlines, as in the feature file); \
        metadata shard, clusters file, fine and coarse counts and a hash of the fine centres. \
        Files are written atomically and valid existing outputs are skipped, so a run resumes; \
        --worker i/N takes the files whose index (sorted) modulo N is i. Memory: one feature \
        file (mapped) at a time, plus 8 bytes a row. Afterwards ASSIGNDIR/counts.json is rewritten from every assignment file \
        present: samples per coarse cluster (expert), per fine centre, and the total. A progress \
        line goes to standard error and one JSON line to standard output.
        """)

    @Option(help: "Feature folder written by `mode embed --shards`.") var features: String
    @Option(help: "Cluster folder written by `mode cluster` (or its clusters.safetensors).") var clusters: String
    @Option(help: "Output folder (ASSIGNDIR).") var out: String
    @Option(help: "Process only files whose index % N == i (0-based), as i/N.", transform: WorkerSlice.init(parsing:))
    var worker: WorkerSlice?
    @OptionGroup(title: "Compute") var compute: ComputeOptions

    func run() throws {
        try compute.apply()
        let bar = ProgressBar("assign", total: nil, unit: "files")
        let summary = try ShardAssignment.run(features: features, clusters: clusters, out: out, worker: worker ?? .all) { p in
            bar.total = p.filesTotal
            bar.update(p.filesDone, note: "\(p.rows) rows")
        }
        bar.finish()
        try printJSONLine(summary.line(out: out))
    }
}
