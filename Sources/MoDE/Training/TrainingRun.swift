import Foundation
import MoDEData
import MoDEFormats
import MoDEModels
import MoDENN
import MoDETensor
import MoDETokenizers

/// Everything `mode train` asks for.
public struct TrainingRequest: Sendable {
    /// Model config: a preset name or a JSON file (open_clip's or transformers'); nil = the
    /// config of `initCheckpoint` (the file beside its weights).
    public var config: String?
    public var runDirectory: String
    public var options: TrainingOptions
    /// Shard specification; nil = the built-in synthetic paired task.
    public var data: String?
    /// Loader decoding threads (0: inline decoding on the compute threads); nil chooses by the
    /// cores left beside `Parallel.threads` (`LoaderOptions.automaticWorkers`).
    public var workers: Int?
    public var shuffleBuffer = 2000
    /// Continue the run in `runDirectory` (see `TrainingStart.resume`).
    public var resume = false
    /// Weights to start from (a file, checkpoint folder or run folder); nil = random init.
    public var initCheckpoint: String?
    /// A checkpoint (or run folder) to continue with its optimizer, step and schedule (see
    /// `TrainingStart.fork`); exclusive with `initCheckpoint`.
    public var fork: String?
    /// Train a data expert: only its clusters' pairs (and a fraction of the others).
    public var expert: ExpertRequest?

    public init(config: String?, runDirectory: String, options: TrainingOptions) {
        self.config = config
        self.runDirectory = runDirectory
        self.options = options
    }

    /// Checks the combinations a user can get wrong.
    public func validate() throws {
        try options.validate()
        if let workers, workers < 0 { throw TrainingError.invalidOption("--workers must be 0 or more") }
        if fork != nil, initCheckpoint != nil { throw TrainingError.invalidOption("give --init or --fork, not both") }
        if config == nil, initCheckpoint == nil {
            throw TrainingError.invalidOption("give --config (a preset or a JSON file), or --init with a checkpoint that carries its config")
        }
        if let expert {
            guard data != nil else { throw TrainingError.invalidOption("--expert needs --data (the shards the assignments were made from)") }
            try expert.validate()
        }
    }

    /// How the trainer begins.
    public var start: TrainingStart { resume ? .resume : fork.map { .fork($0) } ?? .fresh }

    /// The loader's decoding threads: `workers`, or the automatic choice.
    public var resolvedWorkers: Int {
        workers ?? LoaderOptions.automaticWorkers(computeThreads: Parallel.threads, cores: BLAS.availableCores())
    }
}

/// The data expert a run trains: coarse clusters of a clustering, the assignments that say which
/// samples belong to them, and the out-of-cluster fraction mixed in (MoDE's reference: 2%).
public struct ExpertRequest: Sendable, Equatable {
    public var clusters: Set<Int32>
    public var clusterFolder: String
    public var assignFolder: String
    public var outOfClusterRatio: Double = 0.02

    public init(clusters: Set<Int32>, clusterFolder: String, assignFolder: String, outOfClusterRatio: Double = 0.02) {
        self.clusters = clusters
        self.clusterFolder = clusterFolder
        self.assignFolder = assignFolder
        self.outOfClusterRatio = outOfClusterRatio
    }

    /// Parses `--expert`: a coarse cluster number or a comma-separated list of them.
    public static func clusters(parsing text: String) throws -> Set<Int32> {
        var set = Set<Int32>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let c = Int32(part.trimmingCharacters(in: .whitespaces)), c >= 0 else {
                throw TrainingError.invalidOption("--expert must be a coarse cluster number or a comma-separated list of them, got '\(text)'")
            }
            set.insert(c)
        }
        return set
    }

    public func validate() throws {
        guard !clusters.isEmpty else { throw TrainingError.invalidOption("--expert names no cluster") }
        guard (0...1).contains(outOfClusterRatio) else {
            throw TrainingError.invalidOption("--ooc-ratio must lie in [0, 1], got \(outOfClusterRatio)")
        }
    }
}

/// What a training run reports while it works.
public enum TrainingEvent: Sendable {
    /// An expert's stream: its clusters, the pairs expected per pass, and all assigned pairs.
    case expertStream(clusters: [Int32], expectedPerPass: Int, assigned: Int, outOfClusterRatio: Double)
    /// Training begins at `step` of `steps` (after a resume or a fork when `step` > 0).
    case started(step: Int, steps: Int, parameters: Int, resumed: Bool, fork: String?)
    /// The weights of --init were read: what was opened (format, architecture, activation).
    case initialised(from: String)
    case step(StepMetrics)
    /// A pass over the data ended; `warning` when it skipped more than 1% of what it read.
    case passEnded(PassStats, warning: String?)
}

/// The result of `mode train` (its final JSON line).
public struct TrainingSummary: Codable, Sendable, Equatable {
    public var run: String
    public var step: Int
    public var loss: Double?
    public var samplesPerSecond: Double?
    /// Samples used and skipped by reason over the whole run (nil for the synthetic source).
    public var data: PassStats?

    enum CodingKeys: String, CodingKey { case run, step, loss, samplesPerSecond = "samples_per_s", data }
}

/// `mode train` as a library call.
public enum TrainingRun {
    /// The share of a pass's samples whose skipping is reported as a warning.
    public static let warnSkipFraction = 0.01

    /// The model, the batch source and the trainer of `request` (its run folder prepared, a
    /// resume or fork restored), and the expert stream's description when it trains one.
    public static func make(_ request: TrainingRequest,
                            events: (TrainingEvent) -> Void = { _ in }) throws -> (trainer: Trainer, model: CLIPModel) {
        try request.validate()
        let initFile = try request.initCheckpoint.map(CheckpointStore.resolveModelFile)
        let config = try request.config.map(CLIPConfig.load) ?? CLIPCheckpoint.open(initFile!, config: nil).config
        // Captions are tokenized with the CLIP vocabulary: a smaller embedding would be indexed past its end.
        let tokenizer = try request.data.map { _ in try CLIPTokenizer() }
        if let tokenizer, tokenizer.vocabularySize > config.text.vocabSize {
            let from = request.config.map { "config " + $0 } ?? "from " + initFile!
            throw TrainingError.invalidOption("the model's vocabulary (\(config.text.vocabSize) tokens, \(from)) is smaller than that of "
                                              + "the CLIP tokenizer --data captions are tokenized with (\(tokenizer.vocabularySize))")
        }
        let model = CLIPModel(config: config, seed: request.options.seed)
        if let initFile {
            let opened = try model.load(checkpoint: initFile)
            events(.initialised(from: opened.description))
        }
        var expertParameters: ExpertStreamParameters?
        var filter: (@Sendable (String, String) -> Bool)?
        if let expert = request.expert {
            let stream = try ExpertStream.selection(clusters: expert.clusterFolder, assign: expert.assignFolder, experts: expert.clusters,
                                                    oocRatio: expert.outOfClusterRatio, seed: request.options.seed)
            filter = stream.selection.filter
            let expected = Int(stream.expected.rounded())
            expertParameters = ExpertStreamParameters(clusters: expert.clusters.sorted(), clusterFolder: expert.clusterFolder,
                                                      assignFolder: expert.assignFolder, outOfClusterRatio: expert.outOfClusterRatio,
                                                      expectedSamples: expected)
            events(.expertStream(clusters: expert.clusters.sorted(), expectedPerPass: expected, assigned: stream.total,
                                 outOfClusterRatio: expert.outOfClusterRatio))
        }
        let source: BatchSource
        if let data = request.data {
            source = try ShardSource(spec: data, imageSize: config.vision.imageSize, contextLength: config.text.contextLength,
                                     tokenizer: tokenizer!, workers: request.resolvedWorkers, seed: request.options.seed,
                                     shuffleBuffer: request.shuffleBuffer, filter: filter)
        } else {
            source = SyntheticPairs(classes: 64, imageSize: config.vision.imageSize,
                                    contextLength: config.text.contextLength, seed: request.options.seed)
        }
        model.reserveTraining(batch: request.options.batch)
        let parameters = RunParameters(options: request.options, data: source.summary, config: request.config, modelConfig: config,
                                       initCheckpoint: request.initCheckpoint, fork: request.fork, expert: expertParameters)
        let trainer = try Trainer(runDirectory: request.runDirectory, model: model, source: source, parameters: parameters,
                                  start: request.start, imageSize: config.vision.imageSize, contextLength: config.text.contextLength,
                                  checkpointFiles: [CLIPModel.openCLIPConfigFile: try OpenCLIPConfigFile(model: config).data()])
        return (trainer, model)
    }

    /// Trains as `request` says, reporting through `events`; returns the final summary.
    public static func run(_ request: TrainingRequest, events: (TrainingEvent) -> Void = { _ in }) throws -> TrainingSummary {
        let (trainer, model) = try make(request, events: events)
        events(.started(step: trainer.step, steps: request.options.steps, parameters: model.arena.parameterCount,
                        resumed: trainer.resumed, fork: trainer.parameters.fork))
        var last: StepMetrics?
        try trainer.run(onStep: { m in
            last = m
            events(.step(m))
        }, onPass: { p in
            events(.passEnded(p, warning: warning(p)))
        })
        var summary = TrainingSummary(run: request.runDirectory, step: trainer.step)
        if let last, last.loss.isFinite {
            summary.loss = Double(last.loss)
            summary.samplesPerSecond = (last.samplesPerSecond * 100).rounded() / 100
        }
        summary.data = trainer.source.dataStats?.total
        return summary
    }

    /// The warning for a pass that skipped more than `warnSkipFraction` of what it read.
    public static func warning(_ p: PassStats) -> String? {
        guard p.skipFraction > warnSkipFraction else { return nil }
        return String(format: "pass %d skipped %.2f%% of the samples it read (%d of %d): ", p.pass, p.skipFraction * 100, p.skippedTotal, p.read)
            + p.skipped.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }
}
