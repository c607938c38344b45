import ArgumentParser
import MoDE
import Foundation

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

    @Option(help: "Output folder (must be empty or missing unless --force).") var out: String
    @Option(help: "Training image–caption pairs.") var pairs = 20_000
    @Option(help: "Image side in pixels.") var size = 32
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Fraction of captions that belong to another image.") var noise = 0.15
    @Option(help: "Fraction of captions that are uninformative (\"image\", \"IMG_1234.JPG\", …).") var junk = 0.05
    @Option(help: "Pairs per training shard.") var shardSize = 1000
    @Option(help: "Held-out images per class in the zero-shot tasks (0: no tasks).") var tasksPerClass = 50
    @Option(help: "Domains and weights, e.g. shapes:40,digits:25,textures:20,scenes:15 (default: all five, 30/25/20/15/10).")
    var domains: String?
    @Option(help: "Gaussian pixel noise (standard deviation, 0...1 units).") var pixelNoise: Float = 0.015
    @Option(help: "Image format: jpg or png.") var format = "jpg"
    @Option(help: "JPEG quality (1-100).") var quality = 95
    @Option(help: "Threads; default: MODE_THREADS or all available cores.") var threads: Int?
    @Flag(help: "Replace the corpus in a non-empty --out folder (removes its train/, tasks/, README.md, manifest.json).")
    var force = false

    func config() throws -> SynthConfig {
        var c = SynthConfig()
        c.pairs = pairs; c.size = size; c.seed = seed; c.noise = noise; c.junk = junk
        c.shardSize = shardSize; c.tasksPerClass = tasksPerClass; c.pixelNoise = pixelNoise
        switch format.lowercased() {
        case "jpg", "jpeg": c.imageFormat = .jpeg(quality: quality)
        case "png": c.imageFormat = .png
        default: throw ValidationError("--format must be jpg or png")
        }
        if let domains {
            c.domains = []; c.weights = []
            for part in domains.split(separator: ",") {
                let fields = part.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard let d = SynthDomain(rawValue: fields[0]) else {
                    throw ValidationError("unknown domain '\(fields[0])' (known: \(SynthDomain.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                let w = fields.count > 1 ? Double(fields[1]) : d.defaultWeight
                guard let w, w > 0 else { throw ValidationError("domain weight must be a positive number in '\(part)'") }
                c.domains.append(d); c.weights.append(w)
            }
        }
        do { try c.validate() } catch let e as SynthError { throw ValidationError(e.description) }
        return c
    }

    func validate() throws {
        _ = try config()
        if let threads, threads < 1 { throw ValidationError("--threads must be positive") }
    }

    func run() throws {
        if let threads { Parallel.threads = threads }
        let c = try config()
        let start = DispatchTime.now().uptimeNanoseconds
        let bar = ProgressBar("synth", total: SynthCorpus.imageCount(c), unit: "img")
        let summary = try SynthCorpus.generate(c, into: out, force: force) { done, _ in bar.update(done) }
        bar.finish()
        let secs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        print("wrote \(c.pairs) pairs in \(summary.shards.count) shards: \(out)/\(summary.shardSpec)")
        for d in summary.domains { print("  \(d.domain.rawValue): \(d.pairs) pairs, \(d.perClass.count) classes") }
        print("captions: " + CaptionNoise.allCases.map { "\($0.rawValue) \(summary.captions[$0] ?? 0)" }.joined(separator: ", "))
        print("tasks: " + summary.tasks.map { "\($0.name) (\($0.samples))" }.joined(separator: ", "))
        print(String(format: "done in %.1f s", secs))
    }
}
