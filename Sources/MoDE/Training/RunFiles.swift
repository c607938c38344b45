import Foundation
import MoDEData
import MoDEFormats
import MoDEModels
import MoDETensor

/// The files of a training run folder (open_clip-like):
///
///     RUN/params.json        RunParameters: what the run was asked to do
///     RUN/metrics.jsonl      one StepMetrics per logged step
///     RUN/data_stats.json    DataStats: samples used and skipped by reason, per pass
///     RUN/checkpoints/       CheckpointStore: step_N/{model,optimizer}.safetensors + state.json (TrainerState)
public struct RunFolder: Sendable, Equatable {
    public let path: String
    public init(_ path: String) { self.path = path }

    public var parameters: String { file("params.json") }
    public var metrics: String { file("metrics.jsonl") }
    public var dataStats: String { file("data_stats.json") }
    public var checkpoints: CheckpointStore { CheckpointStore(runDirectory: path) }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// The run's parameters (params.json).
    public func readParameters() throws -> RunParameters { try JSONFile.read(RunParameters.self, from: parameters) }
}

/// params.json: what a run was asked to do. The options sit at the top level (as open_clip's
/// params do), beside the model, the data, how the run started, and its expert stream.
public struct RunParameters: VersionedFile, Equatable, Sendable {
    public static let formatName = "run parameters (params.json)"
    public static let formatVersion = 1

    public var options: TrainingOptions
    /// The model config as given (a preset name or a JSON file), and what it describes.
    public var config: String?
    public var modelConfig: CLIPConfig?
    /// The batch source (a shard specification, or the synthetic task's description).
    public var data: String
    /// Weights the run started from (`--init`).
    public var initCheckpoint: String?
    /// The checkpoint a forked run continues (`--fork`), and its step.
    public var fork: String?
    public var forkStep: Int?
    /// The data expert this run trains, if it is one.
    public var expert: ExpertStreamParameters?
    /// The version of mode that started the run.
    public var modeVersion: String = MoDEVersion.current

    public init(options: TrainingOptions, data: String, config: String? = nil, modelConfig: CLIPConfig? = nil,
                initCheckpoint: String? = nil, fork: String? = nil, expert: ExpertStreamParameters? = nil) {
        self.options = options
        self.data = data
        self.config = config
        self.modelConfig = modelConfig
        self.initCheckpoint = initCheckpoint
        self.fork = fork
        self.expert = expert
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", config, modelConfig = "model_cfg", data, initCheckpoint = "init"
        case fork, forkStep = "fork_step", expert, modeVersion = "mode_version"
    }

    public init(from decoder: Decoder) throws {
        options = try TrainingOptions(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        config = try c.decodeIfPresent(String.self, forKey: .config)
        modelConfig = try c.decodeIfPresent(CLIPConfig.self, forKey: .modelConfig)
        data = try c.decode(String.self, forKey: .data)
        initCheckpoint = try c.decodeIfPresent(String.self, forKey: .initCheckpoint)
        fork = try c.decodeIfPresent(String.self, forKey: .fork)
        forkStep = try c.decodeIfPresent(Int.self, forKey: .forkStep)
        expert = try c.decodeIfPresent(ExpertStreamParameters.self, forKey: .expert)
        modeVersion = try c.decodeIfPresent(String.self, forKey: .modeVersion) ?? ""
    }

    public func encode(to encoder: Encoder) throws {
        try options.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.formatVersion, forKey: .formatVersion)
        try c.encodeIfPresent(config, forKey: .config)
        try c.encodeIfPresent(modelConfig, forKey: .modelConfig)
        try c.encode(data, forKey: .data)
        try c.encodeIfPresent(initCheckpoint, forKey: .initCheckpoint)
        try c.encodeIfPresent(fork, forKey: .fork)
        try c.encodeIfPresent(forkStep, forKey: .forkStep)
        try c.encodeIfPresent(expert, forKey: .expert)
        try c.encode(modeVersion, forKey: .modeVersion)
    }

    /// Why a run saved with `saved` cannot be resumed with these parameters: every setting that
    /// shapes the optimisation or the data stream must be unchanged (checkpointing and logging
    /// may change). Empty when the resume is possible.
    public func resumeDifferences(from saved: RunParameters) -> [String] {
        var out: [String] = []
        func check<T: Equatable>(_ name: String, _ old: T, _ new: T, _ show: (T) -> String = { "\($0)" }) {
            if old != new { out.append("\(name) was \(show(old)), now \(show(new))") }
        }
        func opt<T>(_ v: T?) -> String { v.map { "\($0)" } ?? "none" }
        let a = saved.options, b = options
        check("batch", a.batch, b.batch)
        check("steps", a.steps, b.steps)
        check("lr", a.lr, b.lr)
        check("warmup", a.warmup, b.warmup)
        check("wd", a.weightDecay, b.weightDecay)
        check("beta1", a.beta1, b.beta1)
        check("beta2", a.beta2, b.beta2)
        check("eps", a.eps, b.eps)
        check("seed", a.seed, b.seed)
        check("grad_clip_norm", a.gradClipNorm, b.gradClipNorm, opt)
        check("config", saved.config, config, opt)
        check("model config", saved.modelConfig, modelConfig) { $0 == nil ? "none" : "another architecture" }
        check("data", saved.data, data)
        check("fork", saved.fork, fork, opt)
        check("expert", saved.expert?.clusters, expert?.clusters, opt)
        check("ooc_ratio", saved.expert?.outOfClusterRatio, expert?.outOfClusterRatio, opt)
        return out
    }
}

/// The data expert a run trains (params.json `expert`): its coarse clusters, the clustering and
/// assignment folders they come from, the out-of-cluster fraction, and the expected stream size.
public struct ExpertStreamParameters: Codable, Equatable, Sendable {
    public var clusters: [Int32]
    public var clusterFolder: String
    public var assignFolder: String
    public var outOfClusterRatio: Double
    public var expectedSamples: Int

    public init(clusters: [Int32], clusterFolder: String, assignFolder: String, outOfClusterRatio: Double, expectedSamples: Int) {
        self.clusters = clusters
        self.clusterFolder = clusterFolder
        self.assignFolder = assignFolder
        self.outOfClusterRatio = outOfClusterRatio
        self.expectedSamples = expectedSamples
    }

    enum CodingKeys: String, CodingKey {
        case clusters = "coarse_clusters", clusterFolder = "clusters", assignFolder = "assign"
        case outOfClusterRatio = "ooc_ratio", expectedSamples = "expected_samples_per_pass"
    }
}

/// Where a batch source is in its stream, saved in every checkpoint.
public enum DataPosition: Codable, Equatable, Sendable {
    /// The shard loader's position.
    case shards(LoaderPosition)
    /// The synthetic paired task: index of the next sample.
    case synthetic(next: Int)

    enum CodingKeys: String, CodingKey { case source, pass, consumed, next }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        switch try c.decode(String.self, forKey: .source) {
        case "shards": self = .shards(LoaderPosition(pass: try c.decode(Int.self, forKey: .pass), consumed: try c.decode(Int.self, forKey: .consumed)))
        case "synthetic": self = .synthetic(next: try c.decode(Int.self, forKey: .next))
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .source, in: c, debugDescription: "unknown data source \"\(other)\"")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .shards(let p):
            try c.encode("shards", forKey: .source)
            try c.encode(p.pass, forKey: .pass)
            try c.encode(p.consumed, forKey: .consumed)
        case .synthetic(let next):
            try c.encode("synthetic", forKey: .source)
            try c.encode(next, forKey: .next)
        }
    }
}

/// state.json of a checkpoint: the trainer's own state (step, random stream, data position and
/// the data statistics so far), beside the model and optimizer files.
public struct TrainerState: VersionedFile, Equatable, Sendable {
    public static let formatName = "trainer state (state.json)"
    public static let formatVersion = 1

    public var step: Int
    public var rng: SeededRNG
    public var data: DataPosition
    /// Samples used and skipped so far, per pass (nil for sources that skip nothing).
    public var dataStats: DataStats?

    public init(step: Int, rng: SeededRNG, data: DataPosition, dataStats: DataStats?) {
        self.step = step
        self.rng = rng
        self.data = data
        self.dataStats = dataStats
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", step, rng, data, dataStats = "data_stats"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        step = try c.decode(Int.self, forKey: .step)
        rng = try c.decode(SeededRNG.self, forKey: .rng)
        data = try c.decode(DataPosition.self, forKey: .data)
        dataStats = try c.decodeIfPresent(DataStats.self, forKey: .dataStats)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.formatVersion, forKey: .formatVersion)
        try c.encode(step, forKey: .step)
        try c.encode(rng, forKey: .rng)
        try c.encode(data, forKey: .data)
        try c.encodeIfPresent(dataStats, forKey: .dataStats)
    }

    /// The state of checkpoint folder `dir`.
    public static func read(checkpoint dir: String) throws -> TrainerState {
        try JSONFile.read(TrainerState.self, from: (dir as NSString).appendingPathComponent("state.json"))
    }
}

/// One line of metrics.jsonl.
public struct StepMetrics: Codable, Equatable, Sendable {
    public static let formatVersion = 1
    public var step: Int
    public var loss: Float
    public var lr: Float
    public var logitScale: Float
    public var samplesPerSecond: Double
    public var gradNorm: Float?

    public init(step: Int, loss: Float, lr: Float, logitScale: Float, samplesPerSecond: Double, gradNorm: Float?) {
        self.step = step
        self.loss = loss
        self.lr = lr
        self.logitScale = logitScale
        self.samplesPerSecond = samplesPerSecond
        self.gradNorm = gradNorm
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version"
        case step, loss, lr, logitScale = "logit_scale", samplesPerSecond = "samples_per_s", gradNorm = "grad_norm"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let version = try c.decodeIfPresent(Int.self, forKey: .formatVersion)
        guard version == Self.formatVersion else {
            throw DecodingError.dataCorruptedError(forKey: .formatVersion, in: c, debugDescription:
                "metrics format_version \(version.map(String.init) ?? "missing") is not supported; this build reads \(Self.formatVersion)")
        }
        step = try c.decode(Int.self, forKey: .step)
        loss = try c.decode(Float.self, forKey: .loss)
        lr = try c.decode(Float.self, forKey: .lr)
        logitScale = try c.decode(Float.self, forKey: .logitScale)
        samplesPerSecond = try c.decode(Double.self, forKey: .samplesPerSecond)
        gradNorm = try c.decodeIfPresent(Float.self, forKey: .gradNorm)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.formatVersion, forKey: .formatVersion)
        try c.encode(step, forKey: .step)
        try c.encode(loss, forKey: .loss)
        try c.encode(lr, forKey: .lr)
        try c.encode(logitScale, forKey: .logitScale)
        try c.encode(samplesPerSecond, forKey: .samplesPerSecond)
        try c.encodeIfPresent(gradNorm, forKey: .gradNorm)
    }

    /// The rows of a metrics.jsonl file; a line that is not a metrics row is an error naming the
    /// file and line.
    public static func read(_ path: String) throws -> [StepMetrics] {
        guard let data = FileManager.default.contents(atPath: path) else { throw FormatError(path: path, reason: "no such file or not readable") }
        var rows: [StepMetrics] = []
        for (i, line) in String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated() {
            do { rows.append(try JSONDecoder().decode(StepMetrics.self, from: Data(line.utf8))) } catch {
                throw FormatError(path: path, reason: "line \(i + 1) is not a metrics row: \(JSONFile.describe(error))")
            }
        }
        return rows
    }
}
