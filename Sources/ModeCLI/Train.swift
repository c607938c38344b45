import ArgumentParser
import Foundation
import MoDE

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a CLIP model contrastively (open_clip's recipe); writes an open_clip-like run folder.",
        discussion: """
            RUNDIR gets params.json, metrics.jsonl (step, loss, lr, logit_scale, samples_per_s), \
            data_stats.json (samples used and skipped by reason, per pass) and checkpoints/step_N/ \
            (model.safetensors with open_clip's names + open_clip_config.json, optimizer.safetensors, \
            state.json with the step, RNG, data position and statistics), written atomically every \
            --save-every steps and at the end. A killed run continues with --resume and reproduces \
            the losses of an uninterrupted one. A non-finite loss stops the run and keeps the last \
            good checkpoint.

            Data: --data 'train/{00000..00099}.tar' (WebDataset shards; several sources joined with \
            '::'); without --data, a built-in synthetic paired task (for smoke tests and benchmarks). \
            --steps, or --train-num-samples with --epochs (steps = epochs · samples / batch). \
            Damaged or unusable samples (truncated or garbled tar members, undecodable or missing \
            images, bad JSON or UTF-8, missing or empty captions) are skipped and counted by reason: \
            each pass's counts are printed when it ends, a pass skipping more than 1% gets a warning, \
            and more than --max-skip-fraction stops the run with an error.
            """)

    @Option(help: "Model config: a preset (\(CLIPConfig.presetNames.joined(separator: ", "))) or a JSON file (open_clip's or transformers'). With --init, defaults to the config beside those weights.")
    var config: String?
    @Option(help: "Run folder.") var out: String
    @Option(help: "Batch size.") var batch: Int
    @Option(help: "Optimizer steps (or give --train-num-samples and --epochs).") var steps: Int?
    @Option(help: "Samples per epoch, like open_clip's --train-num-samples.") var trainNumSamples: Int?
    @Option(help: "Epochs (with --train-num-samples).") var epochs = 1
    @OptionGroup(title: "Optimizer") var optimizer: OptimizerOptions
    @Option(help: "Random seed (initialisation, data order, augmentation).") var seed: UInt64 = TrainingOptions.defaults.seed
    @Option(help: "Checkpoint every N steps (0: only at the end).") var saveEvery = TrainingOptions.defaults.saveEvery
    @Option(help: "Checkpoints to keep.") var keep = TrainingOptions.defaults.keepCheckpoints
    @Option(help: "Write a metrics.jsonl line every N steps (and at the last step).") var logEvery = TrainingOptions.defaults.logEvery
    @Option(help: "Stop when a pass skips more than this fraction of the samples it reads (damaged or unusable).")
    var maxSkipFraction = TrainingOptions.defaults.maxSkipFraction
    @Flag(help: "Continue the run in --out from its latest checkpoint.") var resume = false
    @Option(name: .customLong("init"), help: "Start from these weights: anything `mode encode` reads (open_clip or transformers folder, .safetensors, PyTorch .pt/.bin, checkpoint or run folder). Its config must match --config's architecture and activation.")
    var initCheckpoint: String?
    @Option(help: "Continue from another run's checkpoint (checkpoint or run folder) with its weights, AdamW state, step and RNG: the schedule given here (normally that run's own --steps/--lr/--warmup) goes on from its step, on this run's data — MoDE's reference forks experts from a part-way seed checkpoint this way.")
    var fork: String?
    @Option(help: "Training shards (brace notation; '::' joins sources).") var data: String?
    @Option(help: """
        Decoding threads for --data, prefetching while the model computes; 0 decodes each batch \
        when it is needed, in parallel over the compute threads (best when no core is spare). \
        Default: the cores left beside --threads and one reading thread (at most 8), else 0.
        """) var workers: Int?
    @OptionGroup(title: "Compute") var compute: ComputeOptions
    @Option(help: "Train data expert C: only pairs whose fine cluster maps to coarse cluster C (comma-separated list: several clusters), plus --ooc-ratio of the others. Needs --data, --clusters and --assign.")
    var expert: String?
    @Option(help: "Cluster folder from `mode cluster` (for --expert).") var clusters: String?
    @Option(help: "Assignment folder from `mode assign` (for --expert).") var assign: String?
    @Option(help: "Fraction of other clusters' pairs mixed into an expert's stream (a fixed, seeded subset).")
    var oocRatio = ExpertRequest(clusters: [], clusterFolder: "", assignFolder: "").outOfClusterRatio

    func request() throws -> TrainingRequest {
        var o = TrainingOptions(batch: batch, steps: try totalSteps())
        optimizer.apply(to: &o)
        o.seed = seed
        o.saveEvery = saveEvery
        o.keepCheckpoints = keep
        o.logEvery = logEvery
        o.maxSkipFraction = maxSkipFraction
        var r = TrainingRequest(config: config, runDirectory: out, options: o)
        r.data = data
        r.workers = workers
        r.initCheckpoint = initCheckpoint
        r.resume = resume
        r.fork = fork
        if let expert {
            guard let clusters, let assign else { throw ValidationError("--expert needs --clusters and --assign") }
            r.expert = ExpertRequest(clusters: try ExpertRequest.clusters(parsing: expert), clusterFolder: clusters,
                                     assignFolder: assign, outOfClusterRatio: oocRatio)
        } else if clusters != nil || assign != nil {
            throw ValidationError("--clusters and --assign are for --expert")
        }
        return r
    }

    func totalSteps() throws -> Int {
        if let steps { return steps }
        guard let n = trainNumSamples else { throw ValidationError("give --steps, or --train-num-samples (with --epochs)") }
        return TrainingOptions.steps(samples: n, epochs: epochs, batch: batch)
    }

    func validate() throws {
        do { try request().validate() } catch let e as TrainingError { throw ValidationError(e.description) }
    }

    func run() throws {
        try compute.apply()
        var bar: ProgressBar?
        let summary = try TrainingRun.run(try request()) { event in
            switch event {
            case let .expertStream(clusters, expected, assigned, ratio):
                printError("expert \(clusters.map(String.init).joined(separator: ",")): ≈\(expected) of \(assigned) pairs per pass (its clusters + \(ratio) of the others)")
            case let .started(step, steps, parameters, resumed, fork):
                let how = resumed && step > 0 ? "resuming at step \(step)" : fork.map { "continuing \($0) from step \(step):" } ?? "training"
                printError("\(how) \(parameters) parameters, batch \(batch), \(steps) steps → \(out)")
                bar = ProgressBar("train", total: steps, unit: "step")
            case .initialised(let from):
                printError("init: " + from)
            case .step(let m):
                bar?.update(m.step, note: String(format: "loss %.4f  lr %.2e  %.1f samples/s", m.loss, m.lr, m.samplesPerSecond))
            case let .passEnded(p, warning):
                bar?.interrupt("pass \(p.pass): " + p.summary)
                if let warning { bar?.interrupt("warning: " + warning) }
            }
        }
        bar?.finish()
        if let d = summary.data { printError("data: " + d.summary) }
        try printJSONLine(summary)
    }
}
