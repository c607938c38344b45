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
    /// The position after the last batch handed out (JSON), saved in checkpoints.
    func position() throws -> Data
    /// Continues from a saved `position`.
    func restore(position: Data) throws
    /// A short description for params.json (e.g. the shard specification).
    var summary: String { get }
}

/// Hyper-parameters of a run (saved as params.json; a resume must match them).
public struct TrainingOptions: Codable, Equatable, Sendable {
    public var batch: Int
    public var steps: Int
    public var lr: Float = 5e-4
    public var warmup: Int = 10
    public var weightDecay: Float = 0.2
    public var beta1: Float = 0.9
    public var beta2: Float = 0.98
    public var eps: Float = 1e-6
    /// Global gradient-norm clip; nil = none (open_clip's default).
    public var gradClipNorm: Float?
    public var seed: UInt64 = 0
    /// Checkpoint every this many steps (and at the end); 0 = only at the end.
    public var saveEvery: Int = 100
    /// Checkpoints kept (newest).
    public var keepCheckpoints: Int = 2
    /// Write a metrics line every this many steps.
    public var logEvery: Int = 1

    public init(batch: Int, steps: Int) {
        self.batch = batch
        self.steps = steps
    }

    enum CodingKeys: String, CodingKey {
        case batch, steps, lr, warmup, seed
        case weightDecay = "wd", beta1, beta2, eps, gradClipNorm = "grad_clip_norm"
        case saveEvery = "save_every", keepCheckpoints = "keep_checkpoints", logEvery = "log_every"
    }

    /// Checks the values a user can get wrong.
    public func validate() throws {
        func need(_ ok: Bool, _ what: String) throws { if !ok { throw TrainingError.invalidOption(what) } }
        try need(batch > 1, "--batch must be at least 2 (the contrastive loss needs negatives)")
        try need(steps > 0, "--steps must be positive")
        try need(lr > 0 && lr.isFinite, "--lr must be a positive number")
        try need(warmup >= 0, "--warmup must be non-negative")
        try need(weightDecay >= 0, "--wd must be non-negative")
        try need(saveEvery >= 0, "--save-every must be non-negative")
        if let g = gradClipNorm { try need(g > 0, "--grad-clip-norm must be positive") }
    }
}

/// What stops a run.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case invalidOption(String)
    case nonFinite(step: Int, what: String, lastCheckpoint: String?)
    case resumeMismatch(String)
    case runExists(String)

    public var description: String {
        switch self {
        case .invalidOption(let w): return w
        case .nonFinite(let step, let what, let last):
            return "step \(step): \(what) is not finite; training stopped. The last good checkpoint is "
                + (last ?? "none (no checkpoint was written yet)") + "."
        case .resumeMismatch(let w): return "cannot resume: \(w)"
        case .runExists(let d): return "\(d) already holds a run; pass --resume to continue it or choose another --out"
        }
    }
}

/// One line of metrics.jsonl.
public struct StepMetrics: Codable, Equatable, Sendable {
    public var step: Int
    public var loss: Float
    public var lr: Float
    public var logitScale: Float
    public var samplesPerSecond: Double
    public var gradNorm: Float?

    enum CodingKeys: String, CodingKey {
        case step, loss, lr, logitScale = "logit_scale", samplesPerSecond = "samples_per_s", gradNorm = "grad_norm"
    }
}

/// The trainer's own state in a checkpoint.
struct TrainerState: Codable {
    var step: Int
    var rng: SeededRNG
    var data: String
}

/// Contrastive training with AdamW, warm-up + cosine, optional clipping, atomic checkpoints and
/// exact resume, writing an open_clip-like run directory:
///   params.json, metrics.jsonl, checkpoints/step_NNNNNNNN/{model,optimizer}.safetensors + state.json
public final class Trainer {
    public let runDirectory: String
    public let model: ContrastiveModel
    public let source: BatchSource
    public let options: TrainingOptions
    /// Extra fields for params.json (model config, data, command line…), and extra files written
    /// into every checkpoint folder (e.g. open_clip_config.json).
    public var parameters: [String: String] = [:]
    public var checkpointFiles: [String: Data] = [:]
    /// Called after every step with its metrics (progress display).
    public var onStep: ((StepMetrics) -> Void)?
    /// A checkpoint of another run (folder, or run folder = its latest) to continue from: a new
    /// run starts with its weights, AdamW moments, step and RNG, so the learning-rate schedule
    /// (this run's options, normally the same as that run's) goes on from that step; the data
    /// position is not taken over (the stream is this run's, e.g. an expert's clusters).
    public var forkCheckpoint: String?

    public let optimizer: AdamW
    public let schedule: CosineSchedule
    public private(set) var step = 0
    var rng: SeededRNG
    let imageCount: Int
    let textCount: Int
    let images: Tensor
    let texts: UnsafeMutablePointer<Int32>

    public init(runDirectory: String, model: ContrastiveModel, source: BatchSource, options: TrainingOptions,
                imageSize: Int, contextLength: Int) throws {
        try options.validate()
        self.runDirectory = runDirectory
        self.model = model
        self.source = source
        self.options = options
        optimizer = AdamW(model.arena, beta1: options.beta1, beta2: options.beta2, eps: options.eps, weightDecay: options.weightDecay)
        schedule = CosineSchedule(baseLR: options.lr, warmup: options.warmup, totalSteps: options.steps)
        rng = SeededRNG(seed: options.seed)
        imageCount = options.batch * 3 * imageSize * imageSize
        textCount = options.batch * contextLength
        images = Tensor(shape: [imageCount])
        texts = .allocate(capacity: textCount)
        texts.initialize(repeating: 0, count: textCount)
    }

    deinit { texts.deallocate() }

    var store: CheckpointStore { CheckpointStore(runDirectory: runDirectory) }
    var paramsPath: String { (runDirectory as NSString).appendingPathComponent("params.json") }
    var metricsPath: String { (runDirectory as NSString).appendingPathComponent("metrics.jsonl") }

    /// params.json content: the options plus `parameters`.
    func paramsJSON() throws -> Data {
        var obj = try JSONSerialization.jsonObject(with: JSONEncoder().encode(options)) as! [String: Any]
        for (k, v) in parameters { obj[k] = v }
        obj["data"] = source.summary
        return try JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }

    /// Prepares the run directory: a new run (refusing to overwrite one), or with `resume` the
    /// latest checkpoint restored (options must match). Returns the step training starts at.
    @discardableResult
    public func prepare(resume: Bool) throws -> Int {
        let fm = FileManager.default
        try fm.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
        if let fork = forkCheckpoint { parameters["fork"] = fork }
        let existing = fm.fileExists(atPath: paramsPath)
        if existing && !resume { throw TrainingError.runExists(runDirectory) }
        if resume && existing {
            let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: paramsPath))) as? [String: Any] ?? [:]
            let now = try JSONSerialization.jsonObject(with: paramsJSON()) as! [String: Any]
            for key in ["batch", "steps", "lr", "warmup", "wd", "beta1", "beta2", "eps", "seed", "grad_clip_norm", "config", "data", "expert", "ooc_ratio", "fork"] {
                let a = saved[key].map { "\($0)" } ?? "none", b = now[key].map { "\($0)" } ?? "none"
                if a != b { throw TrainingError.resumeMismatch("\(key) was \(a) in \(paramsPath), now \(b)") }
            }
        }
        if resume, let dir = store.latest() {
            let state = try restore(checkpoint: dir)
            step = state.step
            rng = state.rng
            try source.restore(position: Data(state.data.utf8))
            try truncateMetrics(after: step)
        } else {
            step = 0
            if let fork = forkCheckpoint {
                let dir = try CheckpointStore.checkpointDirectory(fork)
                let state = try restore(checkpoint: dir)
                guard state.step < options.steps else {
                    throw TrainingError.invalidOption("--fork: \(dir) is at step \(state.step), but this run ends at step \(options.steps); --steps is the whole schedule's length (the forked run's steps included)")
                }
                step = state.step
                rng = state.rng
                parameters["fork_step"] = String(step)
            }
            try AtomicFile.write(paramsJSON(), to: paramsPath)
            try AtomicFile.write(Data(), to: metricsPath)
        }
        return step
    }

    /// Loads the weights and AdamW state of checkpoint folder `dir` and returns its trainer state.
    func restore(checkpoint dir: String) throws -> TrainerState {
        let data = try CheckpointStore.load(dir, arena: model.arena, optimizer: optimizer)
        do { return try JSONDecoder().decode(TrainerState.self, from: data) } catch {
            throw CheckpointError.invalidState(file: dir + "/state.json", reason: "unreadable trainer state (\(error))")
        }
    }

    /// Drops metrics lines past `step` (written after the checkpoint a resume starts from).
    func truncateMetrics(after step: Int) throws {
        guard let d = FileManager.default.contents(atPath: metricsPath) else { return }
        let kept = String(decoding: d, as: UTF8.self).split(separator: "\n").filter { line in
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let s = obj["step"] as? Int else { return false }
            return s <= step
        }
        try AtomicFile.write(Data(kept.map { $0 + "\n" }.joined().utf8), to: metricsPath)
    }

    /// Saves a checkpoint of the current step.
    @discardableResult
    public func saveCheckpoint() throws -> String {
        let pos = String(decoding: try source.position(), as: UTF8.self)
        let state = try JSONEncoder().encode(TrainerState(step: step, rng: rng, data: pos))
        return try store.save(step: step, arena: model.arena, optimizer: optimizer, state: state,
                              extraFiles: checkpointFiles, keep: options.keepCheckpoints)
    }

    /// Trains from the current step to `options.steps` (or `until`), checkpointing every
    /// `saveEvery` steps and at the end. A non-finite loss or gradient stops the run without
    /// saving (the last good checkpoint stays), with an error saying where it is.
    public func run(until: Int? = nil) throws {
        let end = min(until ?? options.steps, options.steps)
        let metrics = try FileHandle(forWritingTo: URL(fileURLWithPath: metricsPath))
        defer { try? metrics.close() }
        try metrics.seekToEnd()
        var window = DispatchTime.now().uptimeNanoseconds
        var windowSamples = 0
        while step < end {
            try source.next(images: images.data, texts: texts, batch: options.batch)
            let loss = model.forwardBackward(images: images.data, texts: texts, batch: options.batch)
            guard loss.isFinite else {
                throw TrainingError.nonFinite(step: step + 1, what: "the loss (\(loss))", lastCheckpoint: store.latest())
            }
            var norm: Float?
            if let clip = options.gradClipNorm {
                norm = clipGradNorm(model.arena, maxNorm: clip)
            }
            let lr = schedule.lr(at: step)
            if let n = norm, !n.isFinite {
                throw TrainingError.nonFinite(step: step + 1, what: "the gradient norm (\(n))", lastCheckpoint: store.latest())
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
                let enc = JSONEncoder()
                enc.outputFormatting = [.sortedKeys]
                try metrics.write(contentsOf: enc.encode(m) + Data("\n".utf8))
                window = now
                windowSamples = 0
            }
            onStep?(m)
            if (options.saveEvery > 0 && step % options.saveEvery == 0) || step == options.steps {
                try metrics.synchronize()
                try saveCheckpoint()
            }
        }
    }
}
