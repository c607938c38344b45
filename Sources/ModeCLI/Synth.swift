import ArgumentParser
import Foundation
import MoDE

struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a synthetic web-like image–caption corpus (WebDataset shards) and held-out zero-shot tasks.",
        discussion: """
        Writes DIR/train/{00000..}.tar (img2dataset members KEY.jpg, KEY.txt, KEY.json), DIR/train/sizes.json, \
        DIR/tasks/NAME (clip_benchmark layout: one fine-grained task per domain, 'domains', 'mixed', 'retrieval'), \
        DIR/README.md and DIR/manifest.json (written last). Domains: shapes, digits, textures, scenes, charts. \
        The same arguments always give byte-identical files.
        """
    )

    /// How images are stored.
    enum Format: String, ExpressibleByArgument, CaseIterable { case jpg, jpeg, png }

    @Option(help: "Output folder (must be empty or missing unless --force).") var out: String
    @Option(help: "Training image–caption pairs.") var pairs = SynthConfig().pairs
    @Option(help: "Image side in pixels.") var size = SynthConfig().size
    @Option(help: "Random seed.") var seed: UInt64 = SynthConfig().seed
    @Option(help: "Fraction of captions that belong to another image.") var noise = SynthConfig().noise
    @Option(help: "Fraction of captions that are uninformative (\"image\", \"IMG_1234.JPG\", …).") var junk = SynthConfig().junk
    @Option(help: "Pairs per training shard.") var shardSize = SynthConfig().shardSize
    @Option(help: "Held-out images per class in the zero-shot tasks (0: no tasks).") var tasksPerClass = SynthConfig().tasksPerClass
    @Option(help: "Domains and weights, e.g. shapes:40,digits:25,textures:20,scenes:15 (default: all five, 30/25/20/15/10).")
    var domains: String?
    @Option(help: "Gaussian pixel noise (standard deviation, 0...1 units).") var pixelNoise: Float = SynthConfig().pixelNoise
    @Option(help: "Image format: jpg or png.") var format = Format.jpg
    @Option(help: "JPEG quality (1-100).") var quality = 95
    @Option(help: "Threads; default: MODE_THREADS or all available cores.") var threads: Int?
    @Flag(help: "Replace the corpus in a non-empty --out folder (removes its train/, tasks/, README.md, manifest.json).")
    var force = false

    func config() throws -> SynthConfig {
        var c = SynthConfig()
        c.pairs = pairs; c.size = size; c.seed = seed; c.noise = noise; c.junk = junk
        c.shardSize = shardSize; c.tasksPerClass = tasksPerClass; c.pixelNoise = pixelNoise
        c.imageFormat = format == .png ? .png : .jpeg(quality: quality)
        if let domains { try c.setDomains(parsing: domains) }
        try c.validate()
        return c
    }

    func validate() throws {
        do { _ = try config() } catch { throw ValidationError("\(error)") }
        try ComputeSettings(threads: threads).validate()
    }

    func run() throws {
        try ComputeSettings(threads: threads).applyThreadsOnly()
        let c = try config()
        let start = Date()
        let bar = ProgressBar("synth", total: SynthCorpus.imageCount(c), unit: "img")
        let summary = try SynthCorpus.generate(c, into: out, force: force) { done, _ in bar.update(done) }
        bar.finish()
        print(summary.report)
        print(String(format: "done in %.1f s", Date().timeIntervalSince(start)))
    }
}
