import Foundation
import MoDEData
import MoDETensor
import MoDEFormats

/// A procedurally generated, web-like image–caption corpus for MoDE: several visually and
/// semantically distinct domains of unequal size with fine-grained classes, captions of varied
/// style and quality with configurable noise, written as img2dataset-style WebDataset shards,
/// plus held-out zero-shot tasks in clip_benchmark's layout. Output is a pure function of the
/// settings: the same settings give byte-identical files, whatever the thread count.
///
/// Layout: `train/{00000..}.tar` (`KEY.jpg` or `KEY.png`, `KEY.txt`, `KEY.json` with `caption`, `key`,
/// `url`, `width`, `height`, and — for analysis only — the true `domain`, `class`, `noise` and
/// `caption_of`), `train/sizes.json`, `tasks/NAME/…`, `README.md`, and `manifest.json`, which is
/// written last and so marks a complete corpus.
public enum SynthCorpus {
    /// Random streams; every image and caption draws from its own generator, seeded by
    /// (seed, stream, index), so shards and tasks can be made in any order, in parallel.
    enum Stream: UInt64 { case plan = 1, train = 2, noise = 3, task = 100 }

    static func streamSeed(_ seed: UInt64, _ stream: UInt64, _ index: UInt64) -> UInt64 {
        func mix(_ x: UInt64) -> UInt64 {
            var z = x &+ 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        return mix(mix(mix(seed) ^ stream) ^ index)
    }

    /// Draws one size×size image of class `classIndex` of `domain` and returns it with the
    /// attribute words its captions may use.
    public static func render(_ domain: SynthDomain, classIndex: Int, size: Int, pixelNoise: Float = 0.015,
                              rng: inout SeededRNG) -> (image: RGBImage, attributes: [String: String]) {
        precondition(domain.classes.indices.contains(classIndex), "render: class index out of range")
        var canvas = SynthCanvas(size: size, background: RGB(0, 0, 0))
        let attrs = domain.renderer.draw(classIndex, &canvas, &rng)
        return (RGBImage(width: size, height: size, bytes: canvas.rgbBytes(noise: pixelNoise, &rng)), attrs)
    }

    /// The (domain index, class index) of every training pair: domain counts in proportion to the
    /// weights (largest remainder), classes balanced within each domain, order shuffled.
    static func plan(_ c: SynthConfig) -> [(domain: Int, cls: Int)] {
        let counts = apportion(c.pairs, c.weights)
        var items: [(domain: Int, cls: Int)] = []
        items.reserveCapacity(c.pairs)
        for (d, n) in counts.enumerated() {
            let k = c.domains[d].classes.count
            for i in 0..<n { items.append((d, i % k)) }
        }
        var rng = SeededRNG(seed: streamSeed(c.seed, Stream.plan.rawValue, 0))
        return rng.shuffled(items)
    }

    /// `total` split in proportion to `weights` (largest remainder; ties to the earlier entry).
    static func apportion(_ total: Int, _ weights: [Double]) -> [Int] {
        let sum = weights.reduce(0, +)
        let exact = weights.map { Double(total) * $0 / sum }
        var counts = exact.map { Int($0.rounded(.down)) }
        let order = exact.indices.sorted { (exact[$0] - Double(counts[$0]), -$0) > (exact[$1] - Double(counts[$1]), -$1) }
        for i in order.prefix(total - counts.reduce(0, +)) { counts[i] += 1 }
        return counts
    }

    /// Images `generate` draws for `config`: training pairs plus held-out task images.
    public static func imageCount(_ config: SynthConfig) -> Int {
        config.pairs + taskSpecs(config).reduce(0) { $0 + $1.items.count }
    }

    /// Writes the corpus into `directory` (created when missing). A non-empty folder is refused
    /// unless `force`, which first removes an earlier corpus's `train`, `tasks`, `README.md` and
    /// `manifest.json` (nothing else). `progress` receives (images done, images total), never
    /// concurrently.
    @discardableResult
    public static func generate(_ config: SynthConfig, into directory: String, force: Bool = false,
                                progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> SynthSummary {
        try config.validate()
        try prepare(directory, force: force)
        let tasks = taskSpecs(config)
        let total = imageCount(config)
        let counter = ProgressCounter(total: total, report: progress)

        // training shards, in parallel
        let plan = plan(config)
        let nShards = (config.pairs + config.shardSize - 1) / config.shardSize
        let shardDigits = max(5, String(nShards - 1).count)
        let indexDigits = max(4, String(config.shardSize - 1).count)
        let names = (0..<nShards).map { padded($0, shardDigits) }
        let results = Locked([ShardResult?](repeating: nil, count: nShards))
        let failure = Locked<Error?>(nil)
        Parallel.forEach(nShards, grain: 1) { range in
            for s in range {
                if failure.value != nil { return }
                do {
                    let r = try writeShard(s, name: names[s], indexDigits: indexDigits, plan: plan, config: config, directory: directory)
                    results.withLock { $0[s] = r }
                    counter.add(r.count)
                } catch {
                    failure.withLock { if $0 == nil { $0 = error } }
                }
            }
        }
        if let e = failure.value { throw e }
        let shardResults = results.value.map { $0! }
        let trainDir = directory + "/train"
        var sizes: [String: Int] = [:]
        for (n, r) in zip(names, shardResults) { sizes[n + ".tar"] = r.count }
        try AtomicFile.write(jsonBytes(sizes), to: trainDir + "/sizes.json")

        // held-out zero-shot tasks
        var taskSummaries: [SynthSummary.Task] = []
        for (t, spec) in tasks.enumerated() {
            try writeTask(spec, index: t, config: config, directory: directory + "/tasks/" + spec.name, counter: counter)
            taskSummaries.append(.init(name: spec.name, kind: spec.kind, classes: spec.classnames.count, samples: spec.items.count))
        }

        // summary, README, manifest (last: it marks a complete corpus)
        var domainCounts = config.domains.map { SynthSummary.DomainCount(domain: $0, pairs: 0, perClass: [Int](repeating: 0, count: $0.classes.count)) }
        for item in plan {
            domainCounts[item.domain].pairs += 1
            domainCounts[item.domain].perClass[item.cls] += 1
        }
        var captions: [CaptionNoise: Int] = [:]
        for r in shardResults { for (k, v) in r.noise { captions[k, default: 0] += v } }
        let spec = "train/{" + names.first! + ".." + names.last! + "}.tar"
        let summary = SynthSummary(directory: directory, shards: names.map { trainDir + "/" + $0 + ".tar" }, shardSpec: spec,
                                   domains: domainCounts, captions: captions, tasks: taskSummaries)
        try AtomicFile.write(Array(readme(config, summary).utf8), to: directory + "/README.md")
        try AtomicFile.write(jsonBytes(manifest(config, summary)), to: directory + "/manifest.json")
        return summary
    }

    /// Creates `directory` or checks that it may be written into.
    static func prepare(_ directory: String, force: Bool) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: directory, isDirectory: &isDir) {
            guard isDir.boolValue else { throw SynthError.notADirectory(directory) }
            let contents = try fm.contentsOfDirectory(atPath: directory)
            if !contents.isEmpty {
                guard force else { throw SynthError.notEmpty(directory) }
                for name in ["manifest.json", "README.md", "train", "tasks"] where contents.contains(name) {
                    try fm.removeItem(atPath: directory + "/" + name)
                }
            }
        } else {
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
    }

    // MARK: training shards

    struct ShardResult { var count: Int; var noise: [CaptionNoise: Int] }

    struct TrainRecord {
        var key: String
        var image: [UInt8]
        var caption: String
        var url: String
        var domain: SynthDomain
        var cls: Int
        var noise = CaptionNoise.none
        var captionOf: String?
    }

    /// Generates and writes shard `s`: images and own captions from per-pair streams, then the
    /// caption noise from the shard's stream.
    static func writeShard(_ s: Int, name: String, indexDigits: Int, plan: [(domain: Int, cls: Int)], config c: SynthConfig,
                           directory: String) throws -> ShardResult {
        let lo = s * c.shardSize, hi = min(c.pairs, lo + c.shardSize)
        var records: [TrainRecord] = []
        records.reserveCapacity(hi - lo)
        for i in lo..<hi {
            var rng = SeededRNG(seed: streamSeed(c.seed, Stream.train.rawValue, UInt64(i)))
            let domain = c.domains[plan[i].domain], cls = plan[i].cls
            let (image, attrs) = render(domain, classIndex: cls, size: c.size, pixelNoise: c.pixelNoise, rng: &rng)
            let caption = Captions.caption(domain, cls, attrs, &rng)
            let url = Captions.url(domain, cls, attrs, &rng)
            records.append(TrainRecord(key: name + padded(i - lo, indexDigits), image: c.imageFormat.encode(image),
                                       caption: caption, url: url, domain: domain, cls: cls))
        }
        // caption noise: a fraction of captions is swapped among the pairs drawn for it (a
        // cyclic shift of a random order, so none keeps its own), another fraction replaced by junk
        var rng = SeededRNG(seed: streamSeed(c.seed, Stream.noise.rawValue, UInt64(s)))
        var swapped: [Int] = []
        for i in records.indices {
            let u = rng.nextDouble()
            if u < c.noise { swapped.append(i) } else if u < c.noise + c.junk {
                records[i].caption = Captions.junk(&rng)
                records[i].noise = .uninformative
            }
        }
        let own = records.map(\.caption)
        if swapped.count == 1, records.count > 1 {
            // nothing to swap with: take the caption of another pair, which keeps its own
            let i = swapped[0]
            var j = rng.nextInt(records.count - 1)
            if j >= i { j += 1 }
            swapped = []
            records[i].caption = own[j]
            records[i].noise = .shuffled
            records[i].captionOf = records[j].key
        }
        let order = rng.shuffled(swapped)
        for (k, i) in order.enumerated() where order.count > 1 {
            let j = order[(k + 1) % order.count]
            records[i].caption = own[j]
            records[i].noise = .shuffled
            records[i].captionOf = records[j].key
        }

        let w = try TarWriter(path: directory + "/train/" + name + ".tar")
        var noise: [CaptionNoise: Int] = [:]
        for r in records {
            let meta = SynthSampleMetadata(caption: r.caption, key: r.key, url: r.url, width: c.size, height: c.size,
                                           domain: r.domain.rawValue, class: r.domain.classes[r.cls].name, noise: r.noise.rawValue,
                                           captionOf: r.captionOf)
            try w.add(r.key + "." + c.imageFormat.ext, r.image)
            try w.add(r.key + ".txt", Array(r.caption.utf8))
            try w.add(r.key + ".json", jsonBytes(meta))
            noise[r.noise, default: 0] += 1
        }
        try w.finish()
        return ShardResult(count: records.count, noise: noise)
    }

}
