import Foundation
import MoDENN
import MoDETensor
import MoDEFormats

/// A model the trainer can optimise with a contrastive image–text loss.
public protocol ContrastiveModel: AnyObject {
    /// All parameters (values and gradients).
    var arena: ParameterArena { get }
    /// Zeroes the gradients, runs forward, loss and backward on one batch of `batch` pairs:
    /// images (batch, 3, S, S), token ids (batch, L). Returns the loss; gradients are in `arena`.
    func forwardBackward(images: UnsafePointer<Float>, texts: UnsafePointer<Int32>, batch: Int) -> Float
    /// Applies open_clip's post-step clamp of the logit scale to [0, ln 100].
    func clampLogitScale()
    /// The current learned temperature, exp(logit_scale).
    var logitScale: Float { get }
}

/// Where training batches come from. A source is deterministic given its position, so a resumed
/// run reads exactly the samples an uninterrupted one would.
public protocol BatchSource: AnyObject {
    /// Fills the next batch: images (batch, 3, S, S) and texts (batch, L); throws on failure.
    func next(images: UnsafeMutablePointer<Float>, texts: UnsafeMutablePointer<Int32>, batch: Int) throws
    /// The position after the last batch handed out, saved in checkpoints.
    var position: DataPosition { get }
    /// Continues from a saved position (and the statistics saved with it).
    func restore(_ position: DataPosition, stats: DataStats?) throws
    /// Samples used and skipped so far, per pass; nil for sources that read no files.
    var dataStats: DataStats? { get }
    /// The pass in progress, with what is known of it so far (an estimate); nil when unknown.
    var passInProgress: PassStats? { get }
    /// A short description for params.json (e.g. the shard specification).
    var summary: String { get }
}

extension BatchSource {
    public var passInProgress: PassStats? { nil }
}

/// How a trainer begins.
public enum TrainingStart: Sendable, Equatable {
    /// A new run: the folder must not hold one already.
    case fresh
    /// Continue the run in the folder from its latest checkpoint (its parameters must match;
    /// a forked run stays forked). An empty folder, or a run without a checkpoint yet, starts
    /// from the beginning: a fork of `RunParameters.fork` when it names one, else fresh.
    case resume
    /// A new run that continues another run's checkpoint (a checkpoint or run folder): its
    /// weights, AdamW moments, step and RNG; this run's schedule goes on from that step on this
    /// run's own data stream (MoDE's reference forks experts from a part-way seed checkpoint).
    case fork(String)
}

/// Contrastive training with AdamW, warm-up + cosine, optional clipping, atomic checkpoints and
/// exact resume, writing an open_clip-like run folder (see `RunFolder`). Everything about how
/// the run begins is settled when the trainer is made: the folder is prepared, and a resume or
/// fork has restored its checkpoint.
public final class Trainer {
    public let folder: RunFolder
    public let model: ContrastiveModel
    public let source: BatchSource
    /// The run's parameters, as params.json holds them.
    public let parameters: RunParameters
    public var options: TrainingOptions { parameters.options }
    public let optimizer: AdamW
    public let schedule: CosineSchedule
    public private(set) var step = 0
    /// The step training (re)started at: 0, a resumed checkpoint's, or a forked checkpoint's.
    public let startStep: Int
    /// Whether a checkpoint of this run was restored.
    public let resumed: Bool
    /// Files written into every checkpoint folder beside the model (e.g. open_clip_config.json).
    let checkpointFiles: [String: Data]
    var rng: SeededRNG
    let images: Tensor
    let texts: UnsafeMutablePointer<Int32>
    let textCount: Int
    /// Passes already reported to `run`'s `onPass`.
    private var passesReported = 0

    /// Prepares `runDirectory` for `parameters` (its `data` is set to the source's summary) and
    /// restores what `start` asks for. Throws when the options are invalid, a fresh run would
    /// overwrite one, a resume's parameters differ from the saved ones, or a checkpoint cannot be
    /// restored.
    public init(runDirectory: String, model: ContrastiveModel, source: BatchSource, parameters: RunParameters,
                start: TrainingStart, imageSize: Int, contextLength: Int, checkpointFiles: [String: Data] = [:]) throws {
        try parameters.options.validate()
        let options = parameters.options
        folder = RunFolder(runDirectory)
        self.model = model
        self.source = source
        self.checkpointFiles = checkpointFiles
        optimizer = AdamW(model.arena, beta1: options.beta1, beta2: options.beta2, eps: options.eps, weightDecay: options.weightDecay)
        schedule = CosineSchedule(baseLR: options.lr, warmup: options.warmup, totalSteps: options.steps)
        rng = SeededRNG(seed: options.seed)
        images = Tensor(shape: [options.batch * 3 * imageSize * imageSize])
        textCount = options.batch * contextLength
        texts = .allocate(capacity: textCount)
        texts.initialize(repeating: 0, count: textCount)

        var params = parameters
        params.data = source.summary
        if case .fork(let path) = start { params.fork = path }
        params.forkStep = nil
        let fm = FileManager.default
        try fm.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
        let existing = fm.fileExists(atPath: folder.parameters)
        var restored = false
        switch start {
        case .fresh, .fork:
            if existing { throw TrainingError.runExists(runDirectory) }
        case .resume:
            if existing {
                let saved = try folder.readParameters()
                if params.fork == nil { params.fork = saved.fork }
                let differences = params.resumeDifferences(from: saved)
                if let first = differences.first {
                    throw TrainingError.resumeMismatch("\(first) (\(folder.parameters))" + (differences.count > 1 ? "; also " + differences.dropFirst().joined(separator: "; ") : ""))
                }
                params.forkStep = saved.forkStep
                if let dir = folder.checkpoints.latest() {
                    let state = try Self.restore(checkpoint: dir, model: model, optimizer: optimizer)
                    step = state.step
                    rng = state.rng
                    try source.restore(state.data, stats: state.dataStats)
                    try Self.truncateMetrics(folder.metrics, after: step)
                    restored = true
                }
            }
        }
        if !restored {
            if let path = params.fork {
                let dir = try CheckpointStore.checkpointDirectory(path)
                let state = try Self.restore(checkpoint: dir, model: model, optimizer: optimizer)
                guard state.step < options.steps else {
                    throw TrainingError.invalidOption("--fork: \(dir) is at step \(state.step), but this run ends at step \(options.steps); --steps is the whole schedule's length (the forked run's steps included)")
                }
                step = state.step
                rng = state.rng
                params.forkStep = step
            }
            try JSONFile.write(params, to: folder.parameters)
            try AtomicFile.write(Data(), to: folder.metrics)
        }
        self.parameters = params
        startStep = step
        resumed = restored
    }

    deinit { texts.deallocate() }

    /// Loads the weights and AdamW state of checkpoint folder `dir` and returns its trainer state.
    static func restore(checkpoint dir: String, model: ContrastiveModel, optimizer: AdamW) throws -> TrainerState {
        try CheckpointStore.load(dir, arena: model.arena, optimizer: optimizer)
    }

    /// Drops metrics lines past `step` (written after the checkpoint a resume starts from).
    static func truncateMetrics(_ path: String, after step: Int) throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        let kept = try StepMetrics.read(path).filter { $0.step <= step }
        try AtomicFile.write(Data(try kept.map { String(decoding: try JSONFile.data($0, pretty: false), as: UTF8.self) }.joined().utf8), to: path)
    }

    /// Saves a checkpoint of the current step (and the data statistics).
    @discardableResult
    public func saveCheckpoint() throws -> String {
        let stats = source.dataStats
        let state = TrainerState(step: step, rng: rng, data: source.position, dataStats: stats)
        let dir = try folder.checkpoints.save(step: step, arena: model.arena, optimizer: optimizer, state: state,
                                              extraFiles: checkpointFiles, keep: options.keepCheckpoints)
        try writeDataStats()
        return dir
    }

    /// Writes data_stats.json from the source's statistics (nothing for sources without any).
    public func writeDataStats() throws {
        guard let stats = source.dataStats else { return }
        try JSONFile.write(DataStatsFile(stats), to: folder.dataStats)
    }

    /// Trains from the current step to `options.steps` (or `until`), checkpointing every
    /// `saveEvery` steps and at the end. A non-finite loss or gradient stops the run without
    /// saving (the last good checkpoint stays), with an error saying where it is; so does a
    /// pass of the data that skipped more than `maxSkipFraction` of what it read. `onStep` gets
    /// every step's metrics, `onPass` every pass of the data that ended.
    public func run(until: Int? = nil, onStep: (StepMetrics) -> Void = { _ in }, onPass: (PassStats) -> Void = { _ in }) throws {
        let end = min(until ?? options.steps, options.steps)
        let metrics = try FileHandle(forWritingTo: URL(fileURLWithPath: folder.metrics))
        defer { try? metrics.close() }
        try metrics.seekToEnd()
        var window = DispatchTime.now().uptimeNanoseconds
        var windowSamples = 0
        passesReported = source.dataStats?.passes.filter(\.complete).count ?? 0
        while step < end {
            try source.next(images: images.data, texts: texts, batch: options.batch)
            try checkPasses(onPass)
            let loss = model.forwardBackward(images: images.data, texts: texts, batch: options.batch)
            guard loss.isFinite else {
                throw TrainingError.nonFinite(step: step + 1, what: "the loss (\(loss))", lastCheckpoint: folder.checkpoints.latest())
            }
            var norm: Float?
            if let clip = options.gradClipNorm {
                norm = clipGradNorm(model.arena, maxNorm: clip)
            }
            let lr = schedule.lr(at: step)
            if let n = norm, !n.isFinite {
                throw TrainingError.nonFinite(step: step + 1, what: "the gradient norm (\(n))", lastCheckpoint: folder.checkpoints.latest())
            }
            optimizer.update(lr: lr)
            model.clampLogitScale()
            step += 1
            windowSamples += options.batch
            let now = DispatchTime.now().uptimeNanoseconds
            let m = StepMetrics(step: step, loss: loss, lr: lr, logitScale: model.logitScale,
                                samplesPerSecond: Double(windowSamples) / max(1e-9, Double(now - window) / 1e9),
                                gradNorm: norm)
            if step % max(1, options.logEvery) == 0 || step == end {
                try metrics.write(contentsOf: JSONFile.data(m, pretty: false))
                window = now
                windowSamples = 0
            }
            onStep(m)
            if (options.saveEvery > 0 && step % options.saveEvery == 0) || step == options.steps {
                try metrics.synchronize()
                try saveCheckpoint()
            }
        }
        try writeDataStats()
    }

    /// Reports passes of the data that ended since the last call, and stops the run when one
    /// skipped more than the allowed fraction of what it read.
    private func checkPasses(_ onPass: (PassStats) -> Void) throws {
        guard let passes = source.dataStats?.passes else { return }
        let complete = passes.filter(\.complete)
        while passesReported < complete.count {
            let p = complete[passesReported]
            passesReported += 1
            onPass(p)
            if p.skipFraction > options.maxSkipFraction {
                throw TrainingError.tooManySkipped(pass: p.pass, fraction: p.skipFraction, limit: options.maxSkipFraction, skipped: p.skipped)
            }
        }
        // A long pass need not run to its end to show that most of its data is unusable.
        if let p = source.passInProgress, p.read >= Self.earlyCheckSamples, p.skipFraction > options.maxSkipFraction {
            throw TrainingError.tooManySkipped(pass: p.pass, fraction: p.skipFraction, limit: options.maxSkipFraction, skipped: p.skipped)
        }
    }

    /// Samples a pass in progress must have read before its skip fraction can stop the run.
    static let earlyCheckSamples = 2000
}

/// data_stats.json of a run folder: samples used and skipped by reason, per pass and in all.
public struct DataStatsFile: VersionedFile, Equatable, Sendable {
    public static let formatName = "data statistics (data_stats.json)"
    public static let formatVersion = 1
    public var passes: [PassStats]
    public var total: PassStats

    public init(_ stats: DataStats) {
        passes = stats.passes
        total = stats.total
    }

    enum CodingKeys: String, CodingKey { case formatVersion = "format_version", passes, total }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        passes = try c.decode([PassStats].self, forKey: .passes)
        total = try c.decode(PassStats.self, forKey: .total)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.formatVersion, forKey: .formatVersion)
        try c.encode(passes, forKey: .passes)
        try c.encode(total, forKey: .total)
    }
}
