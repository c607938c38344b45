import ArgumentParser
import MoDE

struct BenchEncode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "CLIP inference throughput: images/s and texts/s (encode_image / encode_text), one JSON line.",
        discussion: """
            Same work and keys as shared/peers/clip_encode.py: a randomly initialised model, random \
            images, token rows with <start_of_text>, random ids, <end_of_text> at position 12 and \
            zeros after; one warm-up call per tower, then --steps timed calls.
            """)

    @Option(help: "Model config: a preset (\(CLIPConfig.presetNames.joined(separator: ", "))) or an open_clip JSON file.")
    var config = BenchEncodeOptions.default.config
    @Option(help: "Batch size.") var batch = BenchEncodeOptions.default.batch
    @Option(help: "Timed calls per tower (after one warm-up).") var steps = BenchEncodeOptions.default.steps
    @Flag(help: "Then profile --steps more calls of each tower: region and GEMM tables and the MFU on stderr, and a profile field in the JSON.")
    var profile = false
    @Option(help: "GEMM peak (GFLOP/s) for the MFU with --profile; default: measured at 1024³ on these threads.")
    var peakGflops: Double?
    @OptionGroup var compute: ComputeOptions

    var benchmark: BenchEncodeOptions {
        var o = BenchEncodeOptions()
        (o.config, o.batch, o.steps) = (config, batch, steps)
        (o.profile, o.peakGflops) = (profile, peakGflops)
        return o
    }

    func validate() throws { try validating(benchmark.validate) }

    func run() throws {
        let blas = try compute.apply()
        let result = try Benchmarks.encode(benchmark, blas: blas)
        try printJSONLine(result)
        if let profile = result.profile { printToStandardError(profile.tables()) }
    }
}
