import Foundation
import MoDETensor
import TestSupport
import Testing
import MoDEData
@testable import MoDESynth

@Suite struct SynthTests {
    /// A small corpus: 16-pixel images, several shards, two held-out images per class.
    static func smallConfig(seed: UInt64 = 7) -> SynthConfig {
        var c = SynthConfig()
        c.pairs = 130
        c.size = 16
        c.seed = seed
        c.shardSize = 50
        c.tasksPerClass = 2
        return c
    }

    /// Every regular file under `root`, by path relative to it.
    static func files(_ root: String) throws -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        let e = FileManager.default.enumerator(atPath: root)!
        while let rel = e.nextObject() as? String {
            var isDir: ObjCBool = false
            let p = root + "/" + rel
            if FileManager.default.fileExists(atPath: p, isDirectory: &isDir), !isDir.boolValue {
                out[rel] = Array(FileManager.default.contents(atPath: p)!)
            }
        }
        return out
    }

    /// Every training sample of the corpus in `dir` with its parsed json.
    static func trainSamples(_ dir: String) throws -> [(sample: WebSample, meta: [String: Any], stats: ShardStats)] {
        var out: [(WebSample, [String: Any], ShardStats)] = []
        let names = try FileManager.default.contentsOfDirectory(atPath: dir + "/train").filter { $0.hasSuffix(".tar") }.sorted()
        for n in names {
            let r = try ShardReader(path: dir + "/train/" + n)
            var got: [WebSample] = []
            while let s = r.next() { got.append(s) }
            for s in got {
                let meta = try JSONSerialization.jsonObject(with: Data(s.fields["json"] ?? [])) as? [String: Any] ?? [:]
                out.append((s, meta, r.stats))
            }
        }
        return out
    }

    /// Lower-cased, with `_` and `-` read as spaces (file-name captions join words with them).
    static func normalized(_ s: String) -> String {
        s.lowercased().replacingOccurrences(of: "_", with: " ").replacingOccurrences(of: "-", with: " ")
    }

    static func mentions(_ caption: String, domain: String, cls: String) -> Bool {
        guard let d = SynthDomain(rawValue: domain), let c = d.classes.first(where: { $0.name == cls }) else { return false }
        let text = normalized(caption)
        return c.terms.contains { text.contains(normalized($0)) }
    }

    @Test func sameSeedGivesIdenticalBytesAndAnotherSeedDiffers() throws {
        let a = try TempDirectory(), b = try TempDirectory(), other = try TempDirectory()
        try SynthCorpus.generate(Self.smallConfig(), into: a.path)
        try SynthCorpus.generate(Self.smallConfig(), into: b.path)
        try SynthCorpus.generate(Self.smallConfig(seed: 8), into: other.path)
        let fa = try Self.files(a.path), fb = try Self.files(b.path), fo = try Self.files(other.path)
        #expect(fa.keys.sorted() == fb.keys.sorted())
        #expect(fa.keys.contains("manifest.json") && fa.keys.contains("train/sizes.json") && fa.keys.contains("README.md"))
        #expect(fa.keys.contains("train/00000.tar") && fa.keys.contains("train/00002.tar") && !fa.keys.contains("train/00003.tar"))
        for (k, v) in fa { #expect(fb[k] == v, "\(k) differs between two runs with the same seed") }
        #expect(fa.keys.sorted() == fo.keys.sorted())
        #expect(fa["train/00000.tar"] != fo["train/00000.tar"])
        #expect(fa["tasks/shapes/test/0.tar"] != fo["tasks/shapes/test/0.tar"])
        // no temporary files are left behind
        #expect(!fa.keys.contains { $0.contains(".tmp") })
    }

    @Test func shardsReadWithoutSkipsAndMatchTheirSizes() throws {
        let dir = try TempDirectory()
        let c = Self.smallConfig()
        let summary = try SynthCorpus.generate(c, into: dir.path)
        #expect(try resolveShards(dir.path + "/" + summary.shardSpec) == summary.shards)
        let samples = try Self.trainSamples(dir.path)
        #expect(samples.count == c.pairs)
        #expect(samples.allSatisfy { $0.stats.skippedTotal == 0 })
        let sizes = declaredShardSizes(directory: dir.path + "/train")
        #expect(sizes == ["00000.tar": 50, "00001.tar": 50, "00002.tar": 30])
        var keys = Set<String>()
        var rng = SeededRNG(seed: 0)
        for (s, meta, _) in samples {
            keys.insert(s.key)
            #expect(s.key.count == 9 && s.key.allSatisfy(\.isNumber))
            #expect(Set(s.fields.keys) == ["jpg", "txt", "json"])
            let image = try decodeImage(s.fields["jpg"]!)
            #expect(image.width == c.size && image.height == c.size)
            guard case .success(let caption) = sampleCaption(s, rng: &rng) else { Issue.record("no caption for \(s.key)"); continue }
            #expect(meta["caption"] as? String == caption)
            #expect(meta["key"] as? String == s.key)
            #expect(meta["width"] as? Int == c.size && meta["height"] as? Int == c.size)
            #expect((meta["url"] as? String)?.hasPrefix("https://") == true)
            let domain = meta["domain"] as? String ?? "", cls = meta["class"] as? String ?? ""
            #expect(SynthDomain(rawValue: domain)?.classes.contains { $0.name == cls } == true)
        }
        #expect(keys.count == c.pairs)
    }

    @Test func pngShardsHoldTheRenderedPixelsExactly() throws {
        let dir = try TempDirectory()
        var c = Self.smallConfig()
        c.pairs = 12
        c.tasksPerClass = 0
        c.imageFormat = .png
        try SynthCorpus.generate(c, into: dir.path)
        let samples = try Self.trainSamples(dir.path)
        let plan = SynthCorpus.plan(c)
        #expect(samples.count == 12)
        for (i, (s, meta, _)) in samples.enumerated() {
            var rng = SeededRNG(seed: SynthCorpus.streamSeed(c.seed, SynthCorpus.Stream.train.rawValue, UInt64(i)))
            let domain = c.domains[plan[i].domain]
            #expect(meta["domain"] as? String == domain.rawValue && meta["class"] as? String == domain.classes[plan[i].cls].name)
            let expected = SynthCorpus.render(domain, classIndex: plan[i].cls, size: c.size, pixelNoise: c.pixelNoise, rng: &rng).image
            #expect(try decodeImage(s.fields["png"] ?? []) == expected)
        }
    }

    @Test func captionNoiseMatchesTheSettings() throws {
        let dir = try TempDirectory()
        var c = SynthConfig()
        c.pairs = 1500
        c.size = 8
        c.seed = 3
        c.shardSize = 500
        c.tasksPerClass = 0
        c.noise = 0.2
        c.junk = 0.1
        try SynthCorpus.generate(c, into: dir.path)
        let samples = try Self.trainSamples(dir.path)
        let byKey = Dictionary(uniqueKeysWithValues: samples.map { ($0.sample.key, $0.meta) })
        var counts: [String: Int] = [:]
        for (s, meta, _) in samples {
            let noise = meta["noise"] as? String ?? "?"
            counts[noise, default: 0] += 1
            let caption = meta["caption"] as? String ?? ""
            switch noise {
            case "none":
                #expect(Self.mentions(caption, domain: meta["domain"] as! String, cls: meta["class"] as! String),
                        "caption \"\(caption)\" of \(s.key) does not name its class")
            case "shuffled":
                // the caption names the class of the image it was written for, in the same shard
                let source = meta["caption_of"] as? String ?? ""
                #expect(source != s.key && source.prefix(5) == s.key.prefix(5))
                let src = byKey[source] ?? [:]
                #expect(Self.mentions(caption, domain: src["domain"] as? String ?? "", cls: src["class"] as? String ?? ""))
            case "uninformative":
                let padded = " " + Self.normalized(caption) + " "
                #expect(!SynthDomain.allCases.contains { d in d.classes.contains { k in k.terms.contains { padded.contains(" " + Self.normalized($0) + " ") } } })
            default:
                Issue.record("unknown noise kind \(noise)")
            }
        }
        // Binomial counts: standard deviation √(p(1−p)/n) ≈ 0.010 (p = 0.2) and 0.008 (p = 0.1)
        // for n = 1500; 0.04 is about four standard deviations.
        let n = Double(c.pairs)
        #expect(abs(Double(counts["shuffled"] ?? 0) / n - c.noise) < 0.04)
        #expect(abs(Double(counts["uninformative"] ?? 0) / n - c.junk) < 0.04)
        #expect(counts.values.reduce(0, +) == c.pairs)
    }

    @Test func domainSharesFollowTheWeights() throws {
        var c = SynthConfig()
        c.pairs = 997
        c.domains = [.shapes, .digits, .textures, .scenes]
        c.weights = [40, 25, 20, 15]
        let plan = SynthCorpus.plan(c)
        #expect(plan.count == c.pairs)
        for (d, w) in c.weights.enumerated() {
            let n = plan.filter { $0.domain == d }.count
            // largest-remainder apportionment: within one pair of the exact share
            #expect(abs(Double(n) - Double(c.pairs) * w / 100) < 1)
            // classes balanced within the domain: counts differ by at most one
            let perClass = (0..<c.domains[d].classes.count).map { k in plan.filter { $0.domain == d && $0.cls == k }.count }
            #expect(perClass.max()! - perClass.min()! <= 1)
        }
        #expect(SynthCorpus.apportion(10, [1, 1, 1]) == [4, 3, 3])

        // the written corpus agrees with its manifest
        let dir = try TempDirectory()
        let small = Self.smallConfig()
        let summary = try SynthCorpus.generate(small, into: dir.path)
        let samples = try Self.trainSamples(dir.path)
        for d in summary.domains {
            #expect(samples.filter { $0.meta["domain"] as? String == d.domain.rawValue }.count == d.pairs)
        }
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("manifest.json")))) as? [String: Any]
        let listed = (manifest?["domains"] as? [[String: Any]])?.map { $0["pairs"] as? Int ?? -1 }
        #expect(listed == summary.domains.map(\.pairs))
        #expect(listed == SynthCorpus.apportion(small.pairs, small.weights))
    }

    @Test func tasksAreReadableAndHeldOut() throws {
        let dir = try TempDirectory()
        let c = Self.smallConfig()
        try SynthCorpus.generate(c, into: dir.path)
        let tasks = try BenchmarkTask.discover(dir.file("tasks"))
        #expect(tasks.map(\.name) == ["charts", "digits", "domains", "mixed", "retrieval", "scenes", "shapes", "textures"])
        let train = try Self.trainSamples(dir.path)
        let trainKeys = Set(train.map(\.sample.key))
        let trainImages = Set(train.map { $0.sample.fields["jpg"]! })
        for task in tasks {
            let (samples, stats) = try task.samples()
            #expect(stats.allSatisfy { $0.skippedTotal == 0 }, "\(task.name) skipped samples")
            #expect(try samples.allSatisfy { try decodeImage($0.image).width == c.size && $0.imageExt == "jpg" })
            #expect(Set(samples.map(\.key)).isDisjoint(with: trainKeys))
            #expect(samples.allSatisfy { !trainImages.contains($0.image) }, "\(task.name) repeats a training image")
            switch task.kind {
            case .classification:
                #expect(task.templates.count >= 4 && task.templates.allSatisfy { $0.contains("{c}") })
                #expect(samples.allSatisfy { ($0.label ?? -1) >= 0 && $0.label! < task.classnames.count })
                var perLabel = [Int](repeating: 0, count: task.classnames.count)
                for s in samples { perLabel[s.label!] += 1 }
                let expected = task.name == "domains" ? 2 * c.tasksPerClass : c.tasksPerClass
                #expect(perLabel.allSatisfy { $0 == expected }, "\(task.name): \(perLabel)")
                if let d = SynthDomain(rawValue: task.name) { #expect(task.classnames == d.classes.map(\.name)) }
            case .retrieval:
                #expect(samples.count == 10 * c.tasksPerClass)
                #expect(samples.allSatisfy { $0.captions.count == 3 && Set($0.captions).count == 3 })
            }
        }
    }

    @Test func refusesANonEmptyFolderUnlessForced() throws {
        let dir = try TempDirectory()
        var c = Self.smallConfig()
        c.tasksPerClass = 0
        try SynthCorpus.generate(c, into: dir.path)
        #expect(throws: SynthError.notEmpty(dir.path)) { try SynthCorpus.generate(c, into: dir.path) }
        try Data("keep".utf8).write(to: URL(fileURLWithPath: dir.file("notes.txt")))
        c.pairs = 40  // one shard instead of three: the old shards must not survive
        try SynthCorpus.generate(c, into: dir.path, force: true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.file("train")).sorted() == ["00000.tar", "sizes.json"])
        #expect(FileManager.default.fileExists(atPath: dir.file("notes.txt")))
        #expect(throws: SynthError.self) { try SynthCorpus.generate(c, into: dir.file("notes.txt")) }
        c.noise = 0.9
        c.junk = 0.2
        #expect(throws: SynthError.self) { try SynthCorpus.generate(c, into: dir.file("other")) }
    }

    @Test func captionTemplatesFillAndTidy() {
        let slots = ["c": "arrow", "color": "orange", "size": "", "np": "an arrow"]
        #expect(Captions.fill("{Color} {c} {missing}icon", slots) == "Orange arrow icon")
        #expect(Captions.tidy(Captions.fill("a {size} {color} {c} , {size}.", slots), capitalize: true) == "An orange arrow.")
        #expect(Captions.tidy("a eight on a one-way sign", capitalize: false) == "an eight on a one-way sign")
        #expect(Captions.plural("cross") == "crosses" && Captions.plural("star") == "stars")
        // every caption style names the class, for every class of every domain
        var rng = SeededRNG(seed: 5)
        for d in SynthDomain.allCases {
            for k in d.classes.indices {
                let (_, attrs) = SynthCorpus.render(d, classIndex: k, size: 8, rng: &rng)
                for style in CaptionStyle.allCases {
                    let caption = Captions.caption(d, k, attrs, style: style, &rng)
                    #expect(Self.mentions(caption, domain: d.rawValue, cls: d.classes[k].name), "\(style): \(caption)")
                }
            }
        }
    }

    /// Translation- and colour-insensitive features: the magnitude of the 2-D discrete Fourier
    /// transform of the per-image standardised grey levels (DC term dropped).
    static func spectrum(_ pixels: [UInt8], size n: Int) -> [Double] {
        var g = [Double](repeating: 0, count: n * n)
        for i in 0..<(n * n) { g[i] = (Double(pixels[3 * i]) + Double(pixels[3 * i + 1]) + Double(pixels[3 * i + 2])) / 3 }
        let mean = g.reduce(0, +) / Double(g.count)
        let sd = max(1e-6, (g.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(g.count)).squareRoot())
        g = g.map { ($0 - mean) / sd }
        // rows, then columns, with a table of twiddle factors e^(-2πi·kx/n)
        let cosT = (0..<(n * n)).map { cos(-2 * Double.pi * Double(($0 / n) * ($0 % n)) / Double(n)) }
        let sinT = (0..<(n * n)).map { sin(-2 * Double.pi * Double(($0 / n) * ($0 % n)) / Double(n)) }
        var re = [Double](repeating: 0, count: n * n), im = re
        for y in 0..<n {
            for k in 0..<n {
                for x in 0..<n {
                    re[y * n + k] += g[y * n + x] * cosT[k * n + x]
                    im[y * n + k] += g[y * n + x] * sinT[k * n + x]
                }
            }
        }
        var mag = [Double](repeating: 0, count: n * n)
        for k in 0..<n {
            for l in 0..<n {
                var r = 0.0, i = 0.0
                for y in 0..<n {
                    let c = cosT[l * n + y], s = sinT[l * n + y]
                    r += re[y * n + k] * c - im[y * n + k] * s
                    i += re[y * n + k] * s + im[y * n + k] * c
                }
                mag[l * n + k] = (r * r + i * i).squareRoot() / Double(n)
            }
        }
        mag[0] = 0
        return mag
    }

    @Test func imagesOfDifferentClassesDiffer() throws {
        let n = 16, perClass = 6
        for domain in SynthDomain.allCases {
            var feats: [[Double]] = []
            var label: [Int] = []
            for k in domain.classes.indices {
                for j in 0..<perClass {
                    var rng = SeededRNG(seed: UInt64(1000 * k + j))
                    feats.append(Self.spectrum(SynthCorpus.render(domain, classIndex: k, size: n, pixelNoise: 0, rng: &rng).image.bytes, size: n))
                    label.append(k)
                }
            }
            let m = feats.count, dim = feats[0].count
            let flat = feats.flatMap { $0 }
            var dist = [Double](repeating: 0, count: m * m)
            flat.withUnsafeBufferPointer { f in
                for a in 0..<m {
                    for b in (a + 1)..<m {
                        var s = 0.0
                        for t in 0..<dim { let d = f[a * dim + t] - f[b * dim + t]; s += d * d }
                        dist[a * m + b] = s.squareRoot(); dist[b * m + a] = dist[a * m + b]
                    }
                }
            }
            var within = 0.0, between = 0.0, nw = 0, nb = 0, hits = 0
            for a in 0..<m {
                var nearest = (distance: Double.infinity, cls: -1)  // leave-one-out nearest neighbour
                for b in 0..<m where b != a {
                    let d = dist[a * m + b]
                    if label[a] == label[b] { within += d; nw += 1 } else { between += d; nb += 1 }
                    if d < nearest.distance { nearest = (d, label[b]) }
                }
                if nearest.cls == label[a] { hits += 1 }
            }
            within /= Double(nw); between /= Double(nb)
            let accuracy = Double(hits) / Double(m)
            // Classes must be distinguishable even by these crude features: mean distance between
            // classes above the mean within a class (seen: 1.07 shapes … 1.50 scenes), and
            // nearest-neighbour accuracy well above the 10% of chance (seen: 0.38 shapes … 0.70).
            #expect(between > 1.03 * within, "\(domain.rawValue): between \(between), within \(within)")
            #expect(accuracy > 0.25, "\(domain.rawValue): nearest-neighbour accuracy \(accuracy)")
        }
    }
}
