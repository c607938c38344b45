import MoDEData
import Foundation
import MoDEModels
import MoDENN
import MoDETensor
import MoDETokenizers

/// Everything `mode train` needs, as a library call: builds the CLIP model (fresh with open_clip's
/// initialisation, or from `initCheckpoint`), the batch source (shards, or the synthetic paired
/// task when `data` is nil), and the trainer; prepares or resumes the run directory.
public struct TrainingSetup {
    public var configName: String
    public var runDirectory: String
    public var options: TrainingOptions
    /// Shard specification; nil = the built-in synthetic paired task.
    public var data: String?
    /// Loader decoding threads (0: inline decoding on the compute threads); nil chooses by the
    /// cores left beside `Parallel.threads` (`LoaderOptions.automaticWorkers`).
    public var workers: Int?
    public var shuffleBuffer = 2000
    /// Weights to start from (a file, checkpoint folder or run folder); nil = random init.
    public var initCheckpoint: String?
    /// A checkpoint to continue from with its optimizer state, step and schedule (see
    /// `Trainer.forkCheckpoint`); exclusive with `initCheckpoint`.
    public var fork: String?
    public var resume = false
    /// Samples the loader keeps (by key and shard); nil keeps all.
    public var filter: (@Sendable (String, String) -> Bool)?
    /// Extra params.json fields.
    public var parameters: [String: String] = [:]

    public init(configName: String, runDirectory: String, options: TrainingOptions) {
        self.configName = configName
        self.runDirectory = runDirectory
        self.options = options
    }

    /// The loader's decoding threads: `workers`, or the automatic choice.
    public var resolvedWorkers: Int {
        workers ?? LoaderOptions.automaticWorkers(computeThreads: Parallel.threads, cores: BLAS.availableCores())
    }

    /// The ready trainer (its `prepare` done) and the model.
    public func make() throws -> (trainer: Trainer, model: CLIPModel) {
        let config = try CLIPConfig.load(configName)
        let model = CLIPModel(config: config, seed: options.seed)
        if let initCheckpoint {
            try model.load(safetensors: CheckpointStore.resolveModelFile(initCheckpoint))
        }
        let source: BatchSource
        if let data {
            let tokenizer = try CLIPTokenizer()
            source = try ShardSource(spec: data, imageSize: config.vision.imageSize, contextLength: config.text.contextLength,
                                     tokenizer: tokenizer, workers: resolvedWorkers, seed: options.seed,
                                     shuffleBuffer: shuffleBuffer, filter: filter)
        } else {
            source = SyntheticPairs(classes: 64, imageSize: config.vision.imageSize,
                                    contextLength: config.text.contextLength, seed: options.seed)
        }
        model.reserveTraining(batch: options.batch)
        let trainer = try Trainer(runDirectory: runDirectory, model: model, source: source, options: options,
                                  imageSize: config.vision.imageSize, contextLength: config.text.contextLength)
        var params = parameters
        params["config"] = configName
        params["model_cfg"] = String(decoding: try config.jsonData(), as: UTF8.self)
        if let initCheckpoint { params["init"] = initCheckpoint }
        trainer.parameters = params
        let cfgJSON = try JSONSerialization.data(withJSONObject: ["model_cfg": JSONSerialization.jsonObject(with: config.jsonData())],
                                                 options: [.prettyPrinted, .sortedKeys])
        trainer.checkpointFiles = [CLIPModel.openCLIPConfigFile: cfgJSON]
        trainer.forkCheckpoint = fork
        try trainer.prepare(resume: resume)
        return (trainer, model)
    }
}
