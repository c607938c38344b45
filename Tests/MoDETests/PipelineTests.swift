import MoDEClustering
import MoDEData
import Foundation
import MoDEModels
import MoDENN
import MoDETensor
import Testing
import TestSupport
@testable import MoDE
import MoDEFormats

/// A deterministic stand-in for the caption encoder: a caption "topic T …" maps to the unit
/// vector e_T plus a small perturbation derived from the whole caption's bytes, normalised, so
/// features form `dimension` well separated groups.
final class TopicEmbedder: CaptionEmbedder {
    let dimension: Int
    let modelName: String
    let poolingName = "fake"
    /// Texts embedded so far (to see which shards a run touched).
    var embedded = 0

    init(dimension: Int = 8, modelName: String = "topic-embedder") {
        self.dimension = dimension
        self.modelName = modelName
    }

    func embed(_ texts: [String], batchSize: Int, progress: ((Int) -> Void)?) -> Tensor {
        let d = dimension
        let out = Tensor(shape: [texts.count, d])
        for (i, text) in texts.enumerated() {
            let words = text.split(separator: " ")
            let topic = words.count > 1 ? (Int(words[1]) ?? 0) : 0
            var rng = SeededRNG(seed: UInt64(text.utf8.reduce(5381) { ($0 &* 33) &+ UInt64($1) }))
            var norm: Float = 0
            for j in 0..<d {
                let v = (j == topic % d ? 1 : 0) + 0.1 * rng.nextNormal()
                out.data[i * d + j] = v
                norm += v * v
            }
            for j in 0..<d { out.data[i * d + j] /= norm.squareRoot() }
        }
        embedded += texts.count
        progress?(texts.count)
        return out
    }
}

@Suite struct PipelineTests {
    /// Writes a shard of `count` samples with captions "topic T sample I" (T cycling over
    /// `topics`), keys "<prefix>_<i>", plus one sample with an empty caption, one without a
    /// caption and one whose caption comes from a JSON `texts` list.
    static func writeShard(_ path: String, prefix: String, count: Int, topics: Int = 3) throws {
        let tar = try TarWriter(path: path)
        let image: [UInt8] = [0xFF, 0xD8, 0xFF, 0xD9]
        for i in 0..<count {
            let key = "\(prefix)_\(i)"
            try tar.add(key + ".jpg", image)
            try tar.add(key + ".txt", Array("topic \(i % topics) sample \(i)\nsecond line".utf8))
        }
        try tar.add("\(prefix)_empty.jpg", image)
        try tar.add("\(prefix)_empty.txt", Array("  \n".utf8))
        try tar.add("\(prefix)_none.jpg", image)
        try tar.add("\(prefix)_json.jpg", image)
        try tar.add("\(prefix)_json.json", Array(#"{"texts": ["topic 1 from json", "topic 2 other"]}"#.utf8))
        try tar.finish()
    }

    /// Three shards, two of them named 00000.tar in different folders.
    static func corpus(_ dir: TempDirectory) throws -> [String] {
        let paths = [dir.file("a/00000.tar"), dir.file("a/00001.tar"), dir.file("b/00000.tar")]
        for (i, p) in paths.enumerated() { try writeShard(p, prefix: "s\(i)", count: 10 + i) }
        return paths
    }

    /// Writes a feature file with `features` (N, D) and keys/captions "k<i>".
    static func writeFeatures(_ path: String, _ features: Tensor, model: String = "m") throws {
        let n = features.shape[0]
        var w = SafeTensorsWriter()
        w.add(FeatureFile.Key.features, features)
        w.addTextList(FeatureFile.Key.keys, (0..<n).map { "k\($0)" })
        w.addTextList(FeatureFile.Key.captions, (0..<n).map { "caption \($0)" })
        try w.write(to: path, metadata: FeatureFileMetadata(shard: path, model: model, pooling: "mean", dimension: features.shape[1],
                                                            count: n, skipped: [:]).metadata)
    }

    static func smallOptions(fine: Int = 6, coarse: Int = 2) -> ClusterOptions {
        var o = ClusterOptions()
        o.fine = fine
        o.coarse = coarse
        o.sample = 1
        o.iterations = 8
        o.coarseIterations = 10
        o.seed = 3
        return o
    }

    @Test func shardStemPrefixesTheParentOnlyOnCollision() throws {
        #expect(shardStem("data/train/00012.tar") == "00012")
        #expect(shardStem("00012.tar", among: ["00012.tar", "x/00013.tar"]) == "00012")
        let paths = ["x/a/00001.tar", "x/b/00001.tar", "x/b/00002.tar"]
        #expect(try shardStems(paths) == ["a_00001", "b_00001", "00002"])
        #expect(throws: PipelineError.self) { try shardStems(["p/a/1.tar", "q/a/1.tar"]) }
    }

    @Test func workerSlicesParseAndPartition() throws {
        let slices = try (0..<3).map { try WorkerSlice(parsing: "\($0)/3") }
        for i in 0..<10 { #expect(slices.filter { $0.owns(i) }.count == 1) }
        for bad in ["3/3", "-1/2", "1", "a/2", "0/0"] {
            #expect(throws: PipelineError.self) { try WorkerSlice(parsing: bad) }
        }
    }

    @Test func captionChoiceIsDeterministic() throws {
        func sample(_ fields: [String: String]) -> WebSample {
            WebSample(key: "k", shard: "s", fields: fields.mapValues { Array($0.utf8) })
        }
        #expect(try embeddingCaption(sample(["txt": " a\nb ", "json": #"{"caption": "c"}"#])).get() == "a b")
        #expect(try embeddingCaption(sample(["json": #"{"caption": "c", "texts": ["t"]}"#])).get() == "c")
        #expect(try embeddingCaption(sample(["json": #"{"texts": ["first", "second"]}"#])).get() == "first")
        #expect(throws: SkipReason.emptyCaption) { try embeddingCaption(sample(["txt": " "])).get() }
        #expect(throws: SkipReason.missingCaption) { try embeddingCaption(sample(["jpg": "x"])).get() }
    }

    /// The whole pipeline on three tiny shards: embed (two workers, then a resumed run),
    /// cluster, assign (two workers), counts and lookups.
    @Test func embedClusterAssignEndToEnd() throws {
        let dir = try TempDirectory()
        let shards = try Self.corpus(dir)
        let feat = dir.file("feat"), embedder = TopicEmbedder()

        // Each worker takes its own shards; together every shard exactly once.
        let w0 = try ShardEmbedding.run(shards: shards, outDirectory: feat, embedder: embedder, worker: try WorkerSlice(parsing: "0/2"))
        let w1 = try ShardEmbedding.run(shards: shards, outDirectory: feat, embedder: embedder, worker: try WorkerSlice(parsing: "1/2"))
        #expect(w0.written.map { ($0 as NSString).lastPathComponent } == ["a_00000.safetensors", "b_00000.safetensors"])
        #expect(w1.written.map { ($0 as NSString).lastPathComponent } == ["00001.safetensors"])
        #expect(w0.alreadyDone == 0 && w1.alreadyDone == 0)
        // 10 + 11 + 12 captions plus one from JSON per shard; one empty and one missing caption per shard.
        #expect(w0.captions + w1.captions == 36)
        #expect(w0.skipped == ["empty_caption": 2, "missing_caption": 2])

        // A second run finds everything done and embeds nothing.
        let before = embedder.embedded
        let again = try ShardEmbedding.run(shards: shards, outDirectory: feat, embedder: embedder)
        #expect(again.written.isEmpty && again.alreadyDone == 3 && again.captions == 0)
        #expect(embedder.embedded == before)
        // A different model is not "done".
        #expect(!ShardEmbedding.isValidOutput(feat + "/00001.safetensors", for: TopicEmbedder(modelName: "other")))

        let folder = try FeatureDirectory(path: feat)
        #expect(folder.files.map { ($0 as NSString).lastPathComponent } == ["00001.safetensors", "a_00000.safetensors", "b_00000.safetensors"])
        let f = try folder.read(folder.files[1])
        #expect(f.shard == shards[0])
        #expect(f.keys.count == 11 && f.keys.first == "s0_0" && f.keys.last == "s0_json")
        #expect(f.captions.first == "topic 0 sample 0 second line")
        #expect(f.captions.last == "topic 1 from json")
        #expect(f.features.shape == [11, 8])

        let clusters = dir.file("clusters")
        let summary = try FeatureClustering.run(features: feat, out: clusters, options: Self.smallOptions())
        #expect(!summary.streamed && summary.sampleRows == 36)
        for name in ["clusters.safetensors", "clusters.json", "report.md"] {
            #expect(FileManager.default.fileExists(atPath: clusters + "/" + name), "\(name)")
        }
        let info = try FeatureClustering.readSummary(clusters)
        #expect(info.finePerCoarse == summary.hierarchy.fineToCoarse.reduce(into: [0, 0]) { $0[Int($1)] += 1 })
        #expect(info.samplePerCoarse?.reduce(0, +) == 36)
        let report = try String(contentsOfFile: clusters + "/report.md", encoding: .utf8)
        #expect(report.contains("## Coarse cluster 1") && report.contains("topic "))

        // Assignment in two workers, then a resumed run that skips both workers' files.
        let assigned = dir.file("assign"), file = clusters + "/clusters.safetensors"
        let a0 = try ShardAssignment.run(features: feat, clusters: file, out: assigned, worker: try WorkerSlice(parsing: "0/2"))
        let a1 = try ShardAssignment.run(features: feat, clusters: file, out: assigned, worker: try WorkerSlice(parsing: "1/2"))
        #expect(a0.written.count == 2 && a1.written.count == 1)
        #expect(a1.total == 36)
        let a2 = try ShardAssignment.run(features: feat, clusters: file, out: assigned)
        #expect(a2.written.isEmpty && a2.alreadyDone == 3)

        let counts = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: assigned + "/counts.json"))) as? [String: Any]
        #expect(counts?["total"] as? Int == 36)
        #expect((counts?["per_coarse"] as? [Int])?.reduce(0, +) == 36)
        #expect((counts?["per_fine"] as? [Int])?.reduce(0, +) == 36)

        // Every key of every shard is assigned exactly once, to its nearest fine centre.
        let set = try AssignmentSet(directory: assigned, hierarchy: summary.hierarchy)
        #expect(set.total == 36 && set.countsPerCoarse == a2.countsPerCoarse)
        #expect(set.stems == ["00001", "a_00000", "b_00000"])
        for (path, shard) in zip(folder.files, [shards[1], shards[0], shards[2]]) {
            let ff = try folder.read(path)
            let nearest = try summary.hierarchy.assign(ff.features)
            for (i, key) in ff.keys.enumerated() {
                #expect(set.fine(shard: shard, key: key) == nearest.fine[i])
                #expect(set.coarse(shard: shard, key: key) == nearest.coarse[i])
            }
        }
        #expect(set.fine(shard: shards[0], key: "s0_none") == nil)
        #expect(set.fine(shard: dir.file("c/00007.tar"), key: "s0_0") == nil)
        // An expert's training filter reads the same assignments.
        let expert = try ExpertSelection(clusters: [0], outOfClusterRatio: 0, assignments: set)
        #expect(expert.keeps(key: "s2_0", shard: shards[2]) == (set.coarse(shard: shards[2], key: "s2_0") == 0))
        #expect(!expert.keeps(key: "s0_none", shard: shards[0]))
        // The samples of one topic share an expert (the topics are far apart).
        #expect(Set(["s1_0", "s1_3", "s1_6"].map { set.coarse(shard: shards[1], key: $0) }).count == 1)
    }

    @Test func assignmentsFromOtherClustersAreRejected() throws {
        let dir = try TempDirectory()
        let feat = dir.file("feat")
        try ShardEmbedding.run(shards: try Self.corpus(dir), outDirectory: feat, embedder: TopicEmbedder())
        let one = try FeatureClustering.run(features: feat, out: dir.file("c1"), options: Self.smallOptions())
        _ = try ShardAssignment.run(features: feat, clusters: dir.file("c1/clusters.safetensors"), out: dir.file("as"))
        // Other fine centres with the same count, and another fine count: both named errors.
        var other = Self.smallOptions()
        other.seed = 99
        let two = try FeatureClustering.run(features: feat, out: dir.file("c2"), options: other)
        let three = try FeatureClustering.run(features: feat, out: dir.file("c3"), options: Self.smallOptions(fine: 5))
        #expect(try AssignmentSet(directory: dir.file("as"), hierarchy: one.hierarchy).total == 36)
        for h in [two.hierarchy, three.hierarchy] {
            let error = #expect(throws: PipelineError.self) { try AssignmentSet(directory: dir.file("as"), hierarchy: h) }
            #expect(error?.description.contains("00001.safetensors") == true, "\(String(describing: error))")
        }
        // Assigning again with the new centres redoes every file.
        let redo = try ShardAssignment.run(features: feat, clusters: dir.file("c2/clusters.safetensors"), out: dir.file("as"))
        #expect(redo.written.count == 3)
    }

    @Test func mismatchedDimensionNamesTheFile() throws {
        let dir = try TempDirectory()
        let feat = dir.file("feat")
        try FileManager.default.createDirectory(atPath: feat, withIntermediateDirectories: true)
        try Self.writeFeatures(feat + "/a.safetensors", Tensor(shape: [4, 3], repeating: 0.5))
        try Self.writeFeatures(feat + "/b.safetensors", Tensor(shape: [4, 5], repeating: 0.5))
        // A temporary file of an interrupted write is ignored.
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: feat + "/.c.safetensors.tmp-1"))
        let error = #expect(throws: PipelineError.self) {
            try FeatureClustering.run(features: feat, out: dir.file("out"), options: Self.smallOptions(fine: 2, coarse: 1))
        }
        #expect(error == .badFile(path: feat + "/b.safetensors", reason: "feature width 5 differs from 3 in \(feat)/a.safetensors"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("out")))
    }

    @Test func tooFewPointsAndBadRowsAreClearErrors() throws {
        let dir = try TempDirectory()
        let feat = dir.file("feat")
        try FileManager.default.createDirectory(atPath: feat, withIntermediateDirectories: true)
        var rng = SeededRNG(seed: 1)
        let x = Tensor(shape: [5, 4])
        for i in 0..<x.count { x.data[i] = rng.nextNormal() }
        try Self.writeFeatures(feat + "/a.safetensors", x)
        let few = #expect(throws: PipelineError.self) {
            try FeatureClustering.run(features: feat, out: dir.file("out"), options: Self.smallOptions(fine: 6))
        }
        #expect(few?.description.contains("cannot form 6 fine clusters from 5 sampled rows") == true)

        for j in 8..<12 { x.data[j] = 0 }  // row 2
        try Self.writeFeatures(feat + "/b.safetensors", x)
        let zero = #expect(throws: PipelineError.self) {
            try FeatureClustering.run(features: feat, out: dir.file("out"), options: Self.smallOptions(fine: 3, coarse: 1))
        }
        #expect(zero == .badFile(path: feat + "/b.safetensors", reason: "feature row 2 is the zero vector (a failed embedding?)"))
        // Nothing half-written: no output folder, no temporary folder.
        #expect(try dir.contents() == ["feat"])

        // Assignment checks every row too, naming the file.
        try FileManager.default.createDirectory(atPath: dir.file("good"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: feat + "/a.safetensors", toPath: dir.file("good/a.safetensors"))
        try FeatureClustering.run(features: dir.file("good"), out: dir.file("c"), options: Self.smallOptions(fine: 3, coarse: 1))
        let bad = #expect(throws: PipelineError.self) {
            try ShardAssignment.run(features: feat, clusters: dir.file("c/clusters.safetensors"), out: dir.file("as"))
        }
        #expect(bad == .badFile(path: feat + "/b.safetensors", reason: "feature row 2 is the zero vector (a failed embedding?)"))
    }

    @Test func streamedFitWritesTheSameFiles() throws {
        let dir = try TempDirectory()
        let feat = dir.file("feat")
        try ShardEmbedding.run(shards: try Self.corpus(dir), outDirectory: feat, embedder: TopicEmbedder())
        var o = Self.smallOptions()
        o.inMemoryBytes = 1
        o.chunkRows = 7
        let s = try FeatureClustering.run(features: feat, out: dir.file("c"), options: o)
        #expect(s.streamed && s.samplePerFine?.reduce(0, +) == 36)
        #expect(try ClusterHierarchy(contentsOf: dir.file("c/clusters.safetensors")).fineCount == 6)
        // An existing output is refused unless replacing.
        #expect(throws: PipelineError.outputExists(path: dir.file("c"))) {
            try FeatureClustering.run(features: feat, out: dir.file("c"), options: o)
        }
        _ = try FeatureClustering.run(features: feat, out: dir.file("c"), options: o, replace: true)
    }

    @Test func sampleTakesTheRequestedFractionDeterministically() throws {
        let dir = try TempDirectory()
        let feat = dir.file("feat")
        try ShardEmbedding.run(shards: try Self.corpus(dir), outDirectory: feat, embedder: TopicEmbedder())
        let infos = try FeatureDirectory(path: feat).infos()
        let a = try FeatureSample(infos: infos, fraction: 0.25, seed: 4), b = try FeatureSample(infos: infos, fraction: 0.25, seed: 4)
        #expect(a.count == 9 && a.rows == b.rows)  // round(0.25 × 36)
        #expect(try FeatureSample(infos: infos, fraction: 1, seed: 4).count == 36)
        // Gathered rows are the files' rows at their origins (read in runs of consecutive rows).
        for fraction in [0.25, 1] {
            let (x, origins) = try FeatureSample(infos: infos, fraction: fraction, seed: 4).gather()
            let files = try infos.map { try FeatureFile(path: $0.path) }
            for (i, o) in origins.enumerated() {
                let f = files[Int(o >> 32)], r = Int(o & 0xffff_ffff)
                #expect(Array(UnsafeBufferPointer(start: x.data + i * 8, count: 8))
                        == Array(UnsafeBufferPointer(start: f.features.data + r * 8, count: 8)))
            }
        }
    }

    @Test func splitKeepsOtherClustersAndIds() throws {
        let dir = try TempDirectory()
        let feat = dir.file("feat")
        try ShardEmbedding.run(shards: try Self.corpus(dir), outDirectory: feat, embedder: TopicEmbedder())
        let base = try FeatureClustering.run(features: feat, out: dir.file("c"), options: Self.smallOptions(fine: 6, coarse: 2)).hierarchy
        let target = Int32(0)
        for (i, features) in [nil, feat].enumerated() {
            let out = dir.file("split\(i)")
            let s = try FeatureClustering.split(clusters: dir.file("c"), cluster: 0, parts: 2, out: out, features: features)
            let h = try ClusterHierarchy(contentsOf: out + "/clusters.safetensors")
            #expect(h.coarseCount == 3 && s.hierarchy.coarseCount == 3)
            #expect(h.fineCentres.count == base.fineCentres.count)
            for f in 0..<base.fineCount {
                if base.fineToCoarse[f] == target {
                    #expect(h.fineToCoarse[f] == target || h.fineToCoarse[f] == 2)
                } else {
                    #expect(h.fineToCoarse[f] == base.fineToCoarse[f])
                }
            }
            #expect(Set(h.fineToCoarse) == [0, 1, 2])
            // Cluster 1's centre is untouched.
            let d = h.dimension
            #expect(Array(UnsafeBufferPointer(start: h.coarseCentres.data + d, count: d))
                    == Array(UnsafeBufferPointer(start: base.coarseCentres.data + d, count: d)))
            let report = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
            #expect(report.contains("split into clusters 0, 2"))
            #expect(report.contains("topic ") == (features != nil))
        }
        // Assignments made before the split stay valid: the fine centres did not change.
        _ = try ShardAssignment.run(features: feat, clusters: dir.file("c/clusters.safetensors"), out: dir.file("as"))
        let after = try AssignmentSet(directory: dir.file("as"), hierarchy: ClusterHierarchy(contentsOf: dir.file("split0/clusters.safetensors")))
        #expect(after.countsPerCoarse.count == 3 && after.total == 36)
        #expect(throws: PipelineError.self) {
            try FeatureClustering.split(clusters: dir.file("c"), cluster: 5, parts: 2, out: dir.file("bad"))
        }
    }

    /// The real encoder on the tiny random-weight BERT of the model tests.
    @Test func tinyBERTEmbedsAShard() throws {
        let model = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("MoDEModelsTests/Fixtures/tiny_bert").path
        let encoder = try SentenceEncoder(directory: model)
        let dir = try TempDirectory()
        try Self.writeShard(dir.file("s/00000.tar"), prefix: "x", count: 4)
        let out = dir.file("f/00000.safetensors")
        try FileManager.default.createDirectory(atPath: dir.file("f"), withIntermediateDirectories: true)
        let (count, _) = try ShardEmbedding.embedShard(dir.file("s/00000.tar"), to: out, embedder: encoder, batchSize: 2)
        #expect(count == 5)
        let f = try FeatureFile(path: out)
        #expect(f.features.shape == [5, encoder.dimension])
        #expect(f.metadata.pooling == encoder.spec.pooling.rawValue && f.metadata.model == model)
        for i in 0..<5 {
            var s: Float = 0
            for j in 0..<encoder.dimension { s += f.features.data[i * encoder.dimension + j] * f.features.data[i * encoder.dimension + j] }
            #expect(abs(s - 1) < 1e-4, "row \(i) norm² \(s)")  // unit rows up to Float rounding
        }
        #expect(ShardEmbedding.isValidOutput(out, for: encoder))
    }
}

@Suite struct KeyTableTests {
    /// The compact table answers exactly as a dictionary: every key, absent keys, and a key
    /// listed twice (the last value wins).
    @Test func matchesADictionary() {
        var rng = SeededRNG(seed: 9)
        var keys: [String] = [], values: [Int32] = []
        var reference: [String: Int32] = [:]
        for i in 0..<5000 {
            let k = i % 97 == 0 && i > 0 ? keys[Int(rng.next() % UInt64(keys.count))] : String(format: "%09d", Int(rng.next() % 1_000_000_000))
            let v = Int32(rng.next() % 1024)
            keys.append(k)
            values.append(v)
            reference[k] = v
        }
        let table = KeyTable(keys: keys, values: values)
        #expect(table.hashes.count == reference.count)
        for (k, v) in reference { #expect(table.value(k) == v, "\(k)") }
        for k in ["", "x", "1000000000", "abc.jpg"] where reference[k] == nil { #expect(table.value(k) == nil) }
        #expect(KeyTable(keys: [], values: []).value("a") == nil)
    }
}
