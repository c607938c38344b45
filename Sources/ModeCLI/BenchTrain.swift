import ArgumentParser
import MoDE

struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "CLIP training throughput (forward, contrastive loss, backward, AdamW): samples/s, one JSON line.",
        discussion: """
            Same work and keys as shared/peers/clip_train.py: a randomly initialised model, random \
            images (normal), token rows with <start_of_text>, random ids, <end_of_text> at L/2 and \
            zeros after; AdamW (lr 5e-4, wd 0.2); --warmup untimed steps, then --steps timed steps.

            With --data, batches come from the shard loader instead, and the same work is timed on \
            batches already in memory (the first 4 the loader gave, in turn), alternating the two \
            twice: samples_per_s (loader) vs in_memory_samples_per_s and their ratio, on the same \
            content (the text tower's cost depends on the captions' lengths).
            """)

    @Option(help: "Model config: a preset (\(CLIPConfig.presetNames.joined(separator: ", "))) or an open_clip JSON file.")
    var config = BenchTrainOptions.default.config
    @Option(help: "Batch size.") var batch = BenchTrainOptions.default.batch
    @Option(help: "Timed steps.") var steps = BenchTrainOptions.default.steps
    @Option(help: "Untimed steps first.") var warmup = BenchTrainOptions.default.warmup
    @Option(help: "Training shards (brace notation): time the loader feeding the steps.") var data: String?
    @Option(help: "Loader decoding threads with --data (0: inline); default as for mode train.") var workers: Int?
    @Flag(help: "Then profile --steps more steps: region and GEMM tables and the MFU on stderr, and a profile field in the JSON.")
    var profile = false
    @Option(help: "GEMM peak (GFLOP/s) for the MFU with --profile; default: measured at 1024³ on these threads.")
    var peakGflops: Double?
    @OptionGroup var compute: ComputeOptions

    var benchmark: BenchTrainOptions {
        var o = BenchTrainOptions()
        (o.config, o.batch, o.steps, o.warmup, o.data, o.workers) = (config, batch, steps, warmup, data, workers)
        (o.profile, o.peakGflops) = (profile, peakGflops)
        return o
    }

    func validate() throws { try validating(benchmark.validate) }

    func run() throws {
        let blas = try compute.apply()
        let result = try Benchmarks.train(benchmark, blas: blas)
        try printJSONLine(result)
        if let profile = result.profile { printToStandardError(profile.tables()) }
    }
}
