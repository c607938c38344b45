import ArgumentParser
import MoDE

struct BenchDecode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Image decode + CLIP eval preprocessing (resize, centre crop, normalise): images/s.",
        discussion: """
            Makes --n JPEGs in memory (256×256 smooth random content, quality 90, as the peer script does), \
            then times decoding each and preprocessing it into a (3, S, S) float buffer. Also reports the \
            two stages timed apart on one thread (decode_ms, preprocess_ms per image).
            """)

    @Option(help: "Number of images.") var n = BenchDecodeOptions.default.n
    @Option(help: "Output side S of the preprocessing.") var size = BenchDecodeOptions.default.size
    @Option(help: "Threads (images are split across them; the peer figure is for 1).") var threads = BenchDecodeOptions.default.threads
    @Flag(help: "Decode JPEGs with libjpeg's DCT scaling down to about S (faster for large images; not PIL-exact).")
    var draftScaling = BenchDecodeOptions.default.draftScaling
    @Option(help: "Seed of the image content.") var seed = BenchDecodeOptions.default.seed

    var benchmark: BenchDecodeOptions {
        var o = BenchDecodeOptions()
        (o.n, o.size, o.threads, o.draftScaling, o.seed) = (n, size, threads, draftScaling, seed)
        return o
    }

    func validate() throws { try validating(benchmark.validate) }

    func run() throws {
        try printJSONLine(Benchmarks.decode(benchmark))
    }
}
