import ArgumentParser
import MoDE

struct BenchEmbed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Caption embedding throughput (sentences/s), on captions made like the peer script's.",
        discussion: "Peer: ../shared/peers/sentence_embed.py (sentence-transformers). Same word list, 5–16 words per caption, a warm-up batch, then all captions timed.")

    @Option(help: "Model directory; default: MODE_MINILM_DIR, else .deps/minilm.") var model: String?
    @Option(help: "Captions to embed.") var n = BenchEmbedOptions.default.n
    @Option(help: "Texts per forward pass.") var batch = BenchEmbedOptions.default.batch
    @Flag(help: "Then embed the captions once more under the profiler: region and GEMM tables and the MFU on stderr, and a profile field in the JSON.")
    var profile = false
    @Option(help: "GEMM peak (GFLOP/s) for the MFU with --profile; default: measured at 1024³ on these threads.")
    var peakGflops: Double?
    @OptionGroup var compute: ComputeOptions

    var benchmark: BenchEmbedOptions {
        var o = BenchEmbedOptions()
        (o.model, o.n, o.batch) = (model, n, batch)
        (o.profile, o.peakGflops) = (profile, peakGflops)
        return o
    }

    func validate() throws { try validating(benchmark.validate) }

    func run() throws {
        let blas = try compute.apply()
        let result = try Benchmarks.embed(benchmark, blas: blas)
        try printJSONLine(result)
        if let profile = result.profile { printToStandardError(profile.tables()) }
    }
}
