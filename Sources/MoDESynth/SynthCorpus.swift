import Foundation
import MoDEData
import MoDETensor
import MoDEFormats

/// Settings of a synthetic corpus (see `SynthCorpus.generate`).
public struct SynthConfig: Sendable, Equatable {
    /// Training image–caption pairs.
    public var pairs = 20_000
    /// Image side in pixels (images are square).
    public var size = 32
    public var seed: UInt64 = 0
    /// Fraction of training captions that belong to another image (shuffled within the shard).
    public var noise = 0.15
    /// Fraction of training captions that say nothing about the image ("image", "IMG_1234.JPG" …).
    public var junk = 0.05
    /// Pairs per training shard.
    public var shardSize = 1000
    /// Held-out images per class in each fine-grained and the mixed zero-shot task (the coarse
    /// domain task has twice as many per domain; the retrieval task ten times as many images).
    public var tasksPerClass = 50
    /// Domains to generate and their relative shares of the training pairs.
    public var domains: [SynthDomain] = SynthDomain.allCases
    public var weights: [Double] = SynthDomain.allCases.map(\.defaultWeight)
    /// Standard deviation of the Gaussian pixel noise, in 0...1 units.
    public var pixelNoise: Float = 0.015
    /// How images are stored (img2dataset's default: JPEG at quality 95).
    public var imageFormat: SynthImageFormat = .jpeg(quality: 95)

    public init() {}

    /// Sets `domains` and `weights` from "shapes:40,digits:25,…" (a domain without a weight
    /// takes its default weight).
    public mutating func setDomains(parsing text: String) throws {
        var domains: [SynthDomain] = [], weights: [Double] = []
        for part in text.split(separator: ",") {
            let fields = part.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard let d = SynthDomain(rawValue: fields[0]) else {
                throw SynthError.invalid("unknown domain '\(fields[0])' (known: \(SynthDomain.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            let w = fields.count > 1 ? Double(fields[1]) : d.defaultWeight
            guard let w, w > 0 else { throw SynthError.invalid("domain weight must be a positive number in '\(part)'") }
            domains.append(d)
            weights.append(w)
        }
        self.domains = domains
        self.weights = weights
    }

    /// Throws `SynthError.invalid` naming the first unusable setting.
    public func validate() throws {
        func bad(_ s: String) -> SynthError { .invalid(s) }
        guard pairs > 0 else { throw bad("pairs must be positive") }
        guard (8...1024).contains(size) else { throw bad("size must be 8...1024 pixels") }
        guard noise >= 0, junk >= 0, noise + junk <= 1 else { throw bad("noise and junk must be fractions with noise + junk <= 1") }
        guard shardSize > 0 else { throw bad("shard size must be positive") }
        guard tasksPerClass >= 0 else { throw bad("tasks per class must not be negative") }
        guard !domains.isEmpty, Set(domains).count == domains.count else { throw bad("domains must be a non-empty list without repeats") }
        guard weights.count == domains.count, weights.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw bad("every domain needs one positive weight")
        }
        guard pixelNoise >= 0, pixelNoise < 1 else { throw bad("pixel noise must be in 0..<1") }
        if case .jpeg(let q) = imageFormat, !(1...100).contains(q) { throw bad("JPEG quality must be 1...100") }
    }
}

/// A failure of `SynthCorpus.generate` caused by its inputs.
public enum SynthError: Error, CustomStringConvertible, Equatable {
    case invalid(String)
    case notEmpty(String)
    case notADirectory(String)

    public var description: String {
        switch self {
        case .invalid(let why): return "invalid synthetic corpus settings: \(why)"
        case .notEmpty(let dir): return "\(dir) is not empty (pass --force to replace the corpus in it)"
        case .notADirectory(let p): return "\(p) exists and is not a folder"
        }
    }
}

/// Whether a training caption describes its own image.
public enum CaptionNoise: String, Sendable, Codable, CaseIterable {
    /// The caption was written for this image.
    case none
    /// The caption was written for another image of the same shard (named by `caption_of`).
    case shuffled
    /// The caption says nothing about any image.
    case uninformative
}

/// What `SynthCorpus.generate` wrote.
public struct SynthSummary: Sendable {
    /// What was written, for people: shard count, pairs per domain, caption noise and tasks.
    public var report: String {
        var lines = ["wrote \(domains.reduce(0) { $0 + $1.pairs }) pairs in \(shards.count) shards: \(directory)/\(shardSpec)"]
        for d in domains { lines.append("  \(d.domain.rawValue): \(d.pairs) pairs, \(d.perClass.count) classes") }
        lines.append("captions: " + CaptionNoise.allCases.map { "\($0.rawValue) \(captions[$0] ?? 0)" }.joined(separator: ", "))
        lines.append("tasks: " + tasks.map { "\($0.name) (\($0.samples))" }.joined(separator: ", "))
        return lines.joined(separator: "\n")
    }

    public struct DomainCount: Sendable { public var domain: SynthDomain; public var pairs: Int; public var perClass: [Int] }
    public struct Task: Sendable { public var name: String; public var kind: BenchmarkTask.Kind; public var classes: Int; public var samples: Int }
    public var directory: String
    /// Training shard paths, in order.
    public var shards: [String]
    /// The shard specification in brace notation, relative to the corpus folder.
    public var shardSpec: String
    public var domains: [DomainCount]
    public var captions: [CaptionNoise: Int]
    public var tasks: [Task]
}

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

    // MARK: zero-shot tasks

    struct TaskSpec {
        var name: String
        var kind: BenchmarkTask.Kind
        var classnames: [String]
        var templates: [String]
        /// (domain, class, label) of every sample, in file order.
        var items: [(domain: SynthDomain, cls: Int, label: Int)]
    }

    /// The held-out tasks: one fine-grained task per domain, the coarse `domains` task, the
    /// `mixed` task (two classes of each domain), and `retrieval`. Sample order is shuffled.
    static func taskSpecs(_ c: SynthConfig) -> [TaskSpec] {
        let m = c.tasksPerClass
        guard m > 0 else { return [] }
        var specs: [TaskSpec] = []
        var rng = SeededRNG(seed: streamSeed(c.seed, Stream.task.rawValue, 0))
        for d in c.domains {
            var items: [(domain: SynthDomain, cls: Int, label: Int)] = []
            for k in d.classes.indices { for _ in 0..<m { items.append((d, k, k)) } }
            specs.append(TaskSpec(name: d.rawValue, kind: .classification, classnames: d.classes.map(\.name),
                                  templates: d.taskTemplates, items: rng.shuffled(items)))
        }
        if c.domains.count > 1 {
            var coarse: [(domain: SynthDomain, cls: Int, label: Int)] = []
            for (l, d) in c.domains.enumerated() { for j in 0..<(2 * m) { coarse.append((d, j % d.classes.count, l)) } }
            specs.append(TaskSpec(name: "domains", kind: .classification, classnames: c.domains.map(\.coarseName),
                                  templates: ["a picture of a {c}.", "an image of a {c}.", "a {c}.", "an example of a {c}."],
                                  items: rng.shuffled(coarse)))
            var mixed: [(domain: SynthDomain, cls: Int, label: Int)] = []
            var names: [String] = []
            for d in c.domains {
                for k in d.mixedClasses {
                    for _ in 0..<m { mixed.append((d, k, names.count)) }
                    names.append(d.classes[k].mixedName)
                }
            }
            specs.append(TaskSpec(name: "mixed", kind: .classification, classnames: names,
                                  templates: ["a picture of the {c}.", "an image of the {c}.", "the {c}.", "a drawing of the {c}."],
                                  items: rng.shuffled(mixed)))
        }
        var retrieval: [(domain: SynthDomain, cls: Int, label: Int)] = []
        for (d, n) in zip(c.domains, apportion(10 * m, c.weights)) {
            for j in 0..<n { retrieval.append((d, j % d.classes.count, 0)) }
        }
        specs.append(TaskSpec(name: "retrieval", kind: .retrieval, classnames: [], templates: [], items: rng.shuffled(retrieval)))
        return specs
    }

    /// Renders and writes one task folder; images are rendered in parallel, from the task's own streams.
    static func writeTask(_ spec: TaskSpec, index t: Int, config c: SynthConfig, directory: String, counter: ProgressCounter) throws {
        let stream = Stream.task.rawValue + 1 + UInt64(t)
        let n = spec.items.count
        let out = Locked([(image: [UInt8], text: String)?](repeating: nil, count: n))
        Parallel.forEach(n, grain: 16) { range in
            for j in range {
                var rng = SeededRNG(seed: streamSeed(c.seed, stream, UInt64(j)))
                let item = spec.items[j]
                let (rendered, attrs) = render(item.domain, classIndex: item.cls, size: c.size, pixelNoise: c.pixelNoise, rng: &rng)
                var text = String(item.label) + "\n"
                if spec.kind == .retrieval {
                    var captions: [String] = []
                    for style in [CaptionStyle.descriptive, .alt, .descriptive, .alt] where captions.count < 3 {
                        let cap = Captions.caption(item.domain, item.cls, attrs, style: style, &rng)
                        if !captions.contains(cap) { captions.append(cap) }
                    }
                    text = captions.joined(separator: "\n") + "\n"
                }
                let image = c.imageFormat.encode(rendered)
                out.withLock { $0[j] = (image, text) }
            }
            counter.add(range.count)
        }
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory + "/test", withIntermediateDirectories: true)
        if spec.kind == .retrieval {
            try AtomicFile.write(Array("retrieval\n".utf8), to: directory + "/dataset_type.txt")
        } else {
            try AtomicFile.write(Array((spec.classnames.joined(separator: "\n") + "\n").utf8), to: directory + "/classnames.txt")
            try AtomicFile.write(Array((spec.templates.joined(separator: "\n") + "\n").utf8),
                                 to: directory + "/zeroshot_classification_templates.txt")
        }
        let w = try TarWriter(path: directory + "/test/0.tar")
        for (j, sample) in out.value.enumerated() {
            let key = "s" + padded(j, 7)
            try w.add(key + "." + c.imageFormat.ext, sample!.image)
            try w.add(key + (spec.kind == .retrieval ? ".txt" : ".cls"), Array(sample!.text.utf8))
        }
        try w.finish()
        try AtomicFile.write(Array("1\n".utf8), to: directory + "/test/nshards.txt")
    }

    // MARK: descriptions

    static func manifest(_ c: SynthConfig, _ s: SynthSummary) -> SynthManifest {
        SynthManifest(
            settings: .init(seed: c.seed, pairs: c.pairs, size: c.size, noise: c.noise, junk: c.junk, shardSize: c.shardSize,
                            tasksPerClass: c.tasksPerClass, pixelNoise: Double(c.pixelNoise), imageFormat: c.imageFormat.ext,
                            domains: c.domains.map(\.rawValue), weights: c.weights),
            train: .init(shards: s.shardSpec, shardCount: s.shards.count, pairs: c.pairs),
            domains: s.domains.map { d in
                .init(name: d.domain.rawValue, coarseName: d.domain.coarseName, pairs: d.pairs,
                      classes: zip(d.domain.classes, d.perClass).map { .init(name: $0.name, terms: $0.terms, pairs: $1) })
            },
            captions: Dictionary(uniqueKeysWithValues: CaptionNoise.allCases.map { ($0.rawValue, s.captions[$0] ?? 0) }),
            tasks: s.tasks.map { .init(name: $0.name, type: $0.kind.rawValue, classes: $0.classes, samples: $0.samples) })
    }

    static func readme(_ c: SynthConfig, _ s: SynthSummary) -> String {
        func pct(_ n: Int, _ d: Int) -> String { String(format: "%.1f%%", 100 * Double(n) / Double(max(1, d))) }
        var t = """
        # Synthetic web-like image–caption corpus

        Generated by `mode synth --pairs \(c.pairs) --size \(c.size) --seed \(c.seed) --noise \(c.noise) --junk \(c.junk) \
        --shard-size \(c.shardSize) --tasks-per-class \(c.tasksPerClass) --pixel-noise \(c.pixelNoise) \
        --domains \(zip(c.domains, c.weights).map { "\($0.rawValue):\($1)" }.joined(separator: ","))` \
        (procedural drawings; no downloaded data).
        The same settings always give byte-identical files.

        ## Training pairs: `\(s.shardSpec)`

        \(c.pairs) pairs of \(c.size)×\(c.size) \(c.imageFormat.ext.uppercased()) images and captions in \(s.shards.count) WebDataset \
        shards (img2dataset members `KEY.\(c.imageFormat.ext)`, `KEY.txt`, `KEY.json`; sample counts in `train/sizes.json`).
        Each `.json` also records the true `domain` and `class`, and the caption's `noise` (`none`, `shuffled` with
        `caption_of` naming the image it was written for, or `uninformative`): these are for analysis only and must
        not be used for training.

        Captions: \(s.captions[.none] ?? 0) describe their own image (\(pct(s.captions[.none] ?? 0, c.pairs))), \
        \(s.captions[.shuffled] ?? 0) belong to another image (\(pct(s.captions[.shuffled] ?? 0, c.pairs)); setting \(c.noise)), \
        \(s.captions[.uninformative] ?? 0) are uninformative (\(pct(s.captions[.uninformative] ?? 0, c.pairs)); setting \(c.junk)).
        Styles: alt text, descriptive sentences, marketing copy, tag lists and file names, with synonyms for class names.

        | domain | pairs | share | classes (pairs each) |
        | --- | ---: | ---: | --- |

        """
        for d in s.domains {
            let classes = zip(d.domain.classes, d.perClass).map { "\($0.name) (\($1))" }.joined(separator: ", ")
            t += "| \(d.domain.rawValue) | \(d.pairs) | \(pct(d.pairs, c.pairs)) | \(classes) |\n"
        }
        t += """

        ## Zero-shot tasks: `tasks/` (clip_benchmark layout, held-out images)

        | task | type | classes | samples |
        | --- | --- | ---: | ---: |

        """
        for task in s.tasks {
            t += "| \(task.name) | \(task.kind == .retrieval ? "retrieval" : "classification") | \(task.classes) | \(task.samples) |\n"
        }
        t += """

        One fine-grained task per domain, `domains` (one coarse class per domain), `mixed` (two classes of each
        domain, named without the domain's templates) and `retrieval` (three clean captions per image). Task images
        come from random streams the training pairs never use.
        """
        return t + "\n"
    }

    // MARK: helpers

    static func padded(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// Compact JSON with sorted keys.
    static func jsonBytes<T: Encodable>(_ value: T) throws -> [UInt8] {
        Array(try JSONFile.encoder(pretty: false).encode(value))
    }
}

/// How synthetic images are stored.
public enum SynthImageFormat: Sendable, Equatable {
    /// Baseline JPEG at the given quality (1–100), as web crawls store images.
    case jpeg(quality: Int)
    /// Lossless PNG.
    case png

    /// The WebDataset member extension.
    public var ext: String {
        switch self {
        case .jpeg: return "jpg"
        case .png: return "png"
        }
    }

    /// Encodes an image.
    func encode(_ image: RGBImage) -> [UInt8] {
        switch self {
        case .jpeg(let q): return encodeJPEG(image, quality: q)
        case .png: return encodePNG(image)
        }
    }
}

/// A value shared between threads, guarded by a lock.
final class Locked<Value>: @unchecked Sendable {
    private var _value: Value
    private let lock = NSLock()
    init(_ v: Value) { _value = v }
    var value: Value { lock.lock(); defer { lock.unlock() }; return _value }
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock(); defer { lock.unlock() }
        return try body(&_value)
    }
}

/// Counts finished images across threads and reports them one call at a time.
final class ProgressCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var done = 0
    let total: Int
    let report: (@Sendable (Int, Int) -> Void)?
    init(total: Int, report: (@Sendable (Int, Int) -> Void)?) { self.total = total; self.report = report }
    func add(_ n: Int) {
        lock.lock(); defer { lock.unlock() }
        done += n
        report?(done, total)
    }
}
