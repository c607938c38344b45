import Foundation

/// Hyper-parameters of a run (saved in params.json; a resume must match those that shape the
/// optimisation). Defaults are open_clip's where it has one.
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
    /// Stop when more than this fraction of the samples read in a pass is skipped (damaged or
    /// unusable); a pass skipping more than 1% is reported as a warning.
    public var maxSkipFraction: Double = 0.5

    public init(batch: Int, steps: Int) {
        self.batch = batch
        self.steps = steps
    }

    /// Optimizer steps for `epochs` passes over `samples` samples at `batch` per step (at least 1),
    /// as open_clip derives them from --train-num-samples.
    public static func steps(samples: Int, epochs: Int, batch: Int) -> Int {
        max(1, epochs * samples / max(1, batch))
    }

    /// The defaults of every field but `batch` and `steps` (which a run must give).
    public static let defaults = TrainingOptions(batch: 256, steps: 1)

    enum CodingKeys: String, CodingKey {
        case batch, steps, lr, warmup, seed
        case weightDecay = "wd", beta1, beta2, eps, gradClipNorm = "grad_clip_norm"
        case saveEvery = "save_every", keepCheckpoints = "keep_checkpoints", logEvery = "log_every"
        case maxSkipFraction = "max_skip_fraction"
    }

    /// Checks the values a user can get wrong.
    public func validate() throws {
        func need(_ ok: Bool, _ what: String) throws { if !ok { throw TrainingError.invalidOption(what) } }
        try need(batch > 1, "--batch must be at least 2 (the contrastive loss needs negatives)")
        try need(steps > 0, "--steps must be positive")
        try need(lr > 0 && lr.isFinite, "--lr must be a positive number")
        try need(warmup >= 0, "--warmup must be non-negative")
        try need(weightDecay >= 0, "--wd must be non-negative")
        try need(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "--beta1 and --beta2 must lie in [0, 1)")
        try need(eps > 0, "--eps must be positive")
        try need(saveEvery >= 0, "--save-every must be non-negative")
        try need(keepCheckpoints >= 1, "--keep must be at least 1")
        try need(logEvery >= 1, "--log-every must be at least 1")
        try need(maxSkipFraction >= 0 && maxSkipFraction <= 1, "--max-skip-fraction must lie in [0, 1]")
        if let g = gradClipNorm { try need(g > 0, "--grad-clip-norm must be positive") }
    }
}

/// What stops a run.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case invalidOption(String)
    case nonFinite(step: Int, what: String, lastCheckpoint: String?)
    case resumeMismatch(String)
    case runExists(String)
    /// A pass of the data skipped more than the allowed fraction of its samples.
    case tooManySkipped(pass: Int, fraction: Double, limit: Double, skipped: [String: Int])

    public var description: String {
        switch self {
        case .invalidOption(let w): return w
        case .nonFinite(let step, let what, let last):
            return "step \(step): \(what) is not finite; training stopped. The last good checkpoint is "
                + (last ?? "none (no checkpoint was written yet)") + "."
        case .resumeMismatch(let w): return "cannot resume: \(w)"
        case .runExists(let d): return "\(d) already holds a run; pass --resume to continue it or choose another --out"
        case .tooManySkipped(let pass, let fraction, let limit, let skipped):
            return String(format: "pass %d skipped %.1f%% of the samples it read (limit %.1f%%, --max-skip-fraction); ", pass, fraction * 100, limit * 100)
                + "skipped by reason: " + skipped.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                + ". Check the shards, or raise --max-skip-fraction."
        }
    }
}
