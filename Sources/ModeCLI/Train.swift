import ArgumentParser
import Foundation
import MoDE

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a CLIP model contrastively (open_clip's recipe); writes an open_clip-like run folder.",
        discussion: """
            RUNDIR gets params.json, metrics.jsonl (step, loss, lr, logit_scale, samples_per_s) and \
            checkpoints/step_N/ (model.safetensors with open_clip's names + open_clip_config.json, \
            optimizer.safetensors, state.json with the step, RNG and data position), written \
            atomically every --save-every steps and at the end. A killed run continues with --resume \
            and reproduces the losses of an uninterrupted one. A non-finite loss stops the run and \
            keeps the last good checkpoint.

            Data: --data 'train/{00000..00099}.tar' (WebDataset shards; several sources joined with \
            '::'); without --data, a built-in synthetic paired task (for smoke tests and benchmarks). \
            --steps, or --train-num-samples with --epochs (steps = epochs · samples / batch).
            """)

    @Option(help: "Model config: a preset (\(CLIPConfig.presetNames.joined(separator: ", "))) or an open_clip JSON file.")
    var config: String
    @Option(help: "Run folder.") var out: String
    @Option(help: "Batch size.") var batch: Int
    @Option(help: "Optimizer steps (or give --train-num-samples and --epochs).") var steps: Int?
    @Option(help: "Samples per epoch, like open_clip's --train-num-samples.") var trainNumSamples: Int?
    @Option(help: "Epochs (with --train-num-samples).") var epochs = 1
    @Option(help: "Peak learning rate.") var lr: Float = 5e-4
    @Option(help: "Warm-up steps.") var warmup = 10
    @Option(help: "AdamW weight decay (not applied to gains, biases, embeddings of rank < 2 or the logit scale).") var wd: Float = 0.2
    @Option(help: "AdamW beta1.") var beta1: Float = 0.9
    @Option(help: "AdamW beta2.") var beta2: Float = 0.98
    @Option(help: "AdamW epsilon.") var eps: Float = 1e-6
    @Option(help: "Clip the global gradient norm to this value.") var gradClipNorm: Float?
    @Option(help: "Random seed (initialisation, data order, augmentation).") var seed: UInt64 = 0
    @Option(help: "Checkpoint every N steps (0: only at the end).") var saveEvery = 100
    @Option(help: "Checkpoints to keep.") var keep = 2
    @Option(help: "Write a metrics.jsonl line every N steps (and at the last step).") var logEvery = 1
    @Flag(help: "Continue the run in --out from its latest checkpoint.") var resume = false
    @Option(name: .customLong("init"), help: "Start from these weights (file, checkpoint folder or run folder).") var initCheckpoint: String?
    @Option(help: "Continue from another run's checkpoint (checkpoint or run folder) with its weights, AdamW state, step and RNG: the schedule given here (normally that run's own --steps/--lr/--warmup) goes on from its step, on this run's data — MoDE's reference forks experts from a part-way seed checkpoint this way.")
    var fork: String?
    @Option(help: "Training shards (brace notation; '::' joins sources).") var data: String?
    @Option(help: """
        Decoding threads for --data, prefetching while the model computes; 0 decodes each batch \
        when it is needed, in parallel over the compute threads (best when no core is spare). \
        Default: the cores left beside --threads and one reading thread (at most 8), else 0.
        """) var workers: Int?
    @Option(help: "Threads (BLAS and parallel loops); default: MODE_THREADS or all available cores.") var threads: Int?
    @Option(help: "Train data expert C: only pairs whose fine cluster maps to coarse cluster C (comma-separated list: several clusters), plus --ooc-ratio of the others. Needs --data, --clusters and --assign.")
    var expert: String?
    @Option(help: "Cluster folder from `mode cluster` (for --expert).") var clusters: String?
    @Option(help: "Assignment folder from `mode assign` (for --expert).") var assign: String?
    @Option(help: "Fraction of other clusters' pairs mixed into an expert's stream (a fixed, seeded subset).") var oocRatio = 0.02

    func totalSteps() throws -> Int {
        if let steps { return steps }
        guard let n = trainNumSamples else { throw ValidationError("give --steps, or --train-num-samples (with --epochs)") }
        return max(1, epochs * n / batch)
    }

    func validate() throws {
        _ = try totalSteps()
        if let workers, workers < 0 { throw ValidationError("--workers must be 0 or more") }
        guard logEvery >= 1 else { throw ValidationError("--log-every must be at least 1") }
        if fork != nil && initCheckpoint != nil { throw ValidationError("give --init or --fork, not both") }
        if expert != nil {
            guard data != nil, clusters != nil, assign != nil else { throw ValidationError("--expert needs --data, --clusters and --assign") }
            _ = try expertClusters()
        } else if clusters != nil || assign != nil {
            throw ValidationError("--clusters and --assign are for --expert")
        }
    }

    func expertClusters() throws -> Set<Int32> {
        guard let expert else { return [] }
        var set = Set<Int32>()
        for part in expert.split(separator: ",") {
            guard let c = Int32(part.trimmingCharacters(in: .whitespaces)), c >= 0 else {
                throw ValidationError("--expert must be a coarse cluster number or a comma-separated list of them, got '\(expert)'")
            }
            set.insert(c)
        }
        guard !set.isEmpty else { throw ValidationError("--expert names no cluster") }
        return set
    }

    func run() throws {
        if let threads { try BLAS.setThreads(threads) }
        var o = TrainingOptions(batch: batch, steps: try totalSteps())
        o.lr = lr; o.warmup = warmup; o.weightDecay = wd; o.beta1 = beta1; o.beta2 = beta2; o.eps = eps
        o.gradClipNorm = gradClipNorm; o.seed = seed; o.saveEvery = saveEvery; o.keepCheckpoints = keep
        o.logEvery = logEvery
        var setup = TrainingSetup(configName: config, runDirectory: out, options: o)
        setup.data = data
        setup.workers = workers
        setup.initCheckpoint = initCheckpoint
        setup.fork = fork
        setup.resume = resume
        if let clusters, let assign {
            let selection = try ExpertStream.selection(clusters: clusters, assign: assign, experts: try expertClusters(),
                                                       oocRatio: oocRatio, seed: seed)
            setup.filter = selection.selection.filter
            setup.parameters["expert"] = selection.selection.clusters.sorted().map(String.init).joined(separator: ",")
            setup.parameters["clusters"] = clusters
            setup.parameters["assign"] = assign
            setup.parameters["ooc_ratio"] = String(oocRatio)
            setup.parameters["expert_expected_samples"] = String(Int(selection.expected.rounded()))
            FileHandle.standardError.write(Data(("expert \(setup.parameters["expert"]!): ≈\(Int(selection.expected.rounded())) "
                + "of \(selection.total) pairs per pass (its clusters + \(oocRatio) of the others)\n").utf8))
        }
        let (trainer, model) = try setup.make()
        let start = trainer.step
        FileHandle.standardError.write(Data(("\(resume && start > 0 ? "resuming at step \(start)" : fork != nil ? "continuing \(fork!) from step \(start):" : "training") "
            + "\(model.arena.parameterCount) parameters, batch \(batch), \(o.steps) steps → \(out)\n").utf8))
        let bar = ProgressBar("train", total: o.steps, unit: "step")
        var last: StepMetrics?
        trainer.onStep = { m in
            last = m
            bar.update(m.step, note: String(format: "loss %.4f  lr %.2e  %.1f samples/s", m.loss, m.lr, m.samplesPerSecond))
        }
        try trainer.run()
        bar.finish()
        var result: [String: Any] = ["run": out, "step": trainer.step]
        if let last, last.loss.isFinite {
            result["loss"] = Double(last.loss)
            result["samples_per_s"] = rounded(last.samplesPerSecond, 2)
        }
        try printJSONLine(result)
    }
}
