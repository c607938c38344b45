import Foundation
import Testing
import MoDETensor
import TestSupport
@testable import MoDE

/// The benchmarks behind `mode bench` at tiny sizes: what they report and its invariants (never
/// how fast). Key sets are those the peer scripts and earlier `mode bench` lines use.
@Suite(.serialized) struct BenchmarkTests {
    let blas: BLASInfo

    init() throws { blas = try BLAS.info() }

    /// The keys of `value`'s JSON line.
    func keys<T: Encodable>(_ value: T) throws -> Set<String> {
        let object = try JSONSerialization.jsonObject(with: try JSONFile.data(value, pretty: false))
        return Set((object as? [String: Any] ?? [:]).keys)
    }

    @Test func gemm() throws {
        var o = BenchGEMMOptions()
        (o.m, o.n, o.k, o.repeats, o.transB) = (8, 4, 3, 3, true)
        let r = try Benchmarks.gemm(o, blas: blas)
        #expect((r.bench, r.m, r.n, r.k, r.transA, r.transB) == ("gemm", 8, 4, 3, false, true))
        #expect(r.blas == blas.backend.rawValue && r.threads == blas.threads)
        #expect(r.gflopsBest >= r.gflops && r.gflops >= 0)
        #expect(try keys(r) == ["bench", "m", "n", "k", "trans_a", "trans_b", "blas", "threads", "gflops", "gflops_best"])
        o.repeats = 0
        #expect(throws: BenchmarkError.self) { try Benchmarks.gemm(o, blas: blas) }
    }

    @Test func layers() throws {
        var o = BenchLayerOptions()
        (o.batch, o.steps) = (4, 1)
        var streamed: [BenchLayerKind] = []
        let results = try Benchmarks.layers(o, blas: blas) { streamed.append($0.layer) }
        let names = ["linear", "layernorm", "mlp", "attention", "block", "text_block", "patch_embed"]
        #expect(results.map(\.layer.rawValue) == names)
        #expect(streamed == results.map(\.layer))
        #expect(results.reduce(0) { $0 + $1.forwardMs + $1.backwardMs } > 0)
        for r in results {
            // tiny: vision 32 px images in 4 px patches → 8·8 + 1 tokens, width 128, 64-wide heads;
            // text: 32 tokens, width 128, 2 heads.
            #expect(r.tokens == (r.layer == .textBlock ? 32 : 65))
            #expect(r.width == 128 && r.heads == 2 && r.batch == 4 && r.config == "tiny")
            // Rounded figures: a small layer's may round to 0 on a busy machine.
            #expect(r.forwardMs >= 0 && r.backwardMs >= 0 && r.gflops >= 0 && r.gflops.isFinite)
            #expect(try keys(r) == ["bench", "layer", "batch", "tokens", "width", "heads", "forward_ms", "backward_ms",
                                    "gflops", "blas", "threads", "config"])
        }
        o.layer = .layernorm
        o.batch = nil
        let one = try Benchmarks.layers(o, blas: blas)
        #expect(one.map(\.layer) == [.layernorm] && one[0].batch == 256)  // default batch for 32 px images
    }

    @Test func decode() throws {
        var o = BenchDecodeOptions()
        (o.n, o.size, o.threads) = (5, 16, Parallel.threads)
        let r = try Benchmarks.decode(o)
        #expect((r.n, r.size, r.threads, r.draftScaling) == (5, 16, Parallel.threads, false))
        #expect(r.imagesPerS > 0 && r.meanJpegBytes > 0 && r.decodeMs >= 0 && r.preprocessMs >= 0)
        #expect(try keys(r) == ["bench", "n", "size", "threads", "images_per_s", "mean_jpeg_bytes", "draft_scaling",
                                "decode_ms", "preprocess_ms"])
        o.draftScaling = true
        let draft = try Benchmarks.decode(o)
        #expect(draft.draftScaling && draft.meanJpegBytes == r.meanJpegBytes)  // same images
    }

    @Test func encode() throws {
        var o = BenchEncodeOptions()
        (o.config, o.batch, o.steps) = ("tiny", 4, 1)
        let r = try Benchmarks.encode(o, blas: blas)
        #expect((r.config, r.batch, r.steps) == ("tiny", 4, 1))
        #expect(r.imagesPerS > 0 && r.textsPerS > 0 && r.peakRssMib > 0)
        #expect(try keys(r) == ["bench", "config", "batch", "steps", "threads", "blas", "images_per_s", "texts_per_s",
                                "peak_rss_mib"])
    }

    /// Parameters of tiny, counted by hand: vision 6,144 (patches) + 128 (class) + 8,320 (positions)
    /// + 2·256 (ln_pre, ln_post) + 4 · 198,272 (blocks) + 16,384 (proj) = 824,576; text 6,324,224
    /// (49,408 tokens) + 4,096 (positions) + 4 · 198,272 + 256 (ln_final) + 16,384 (projection)
    /// + 1 (logit scale) = 7,138,049.
    static let tinyParameters = 824_576 + 7_138_049

    @Test func train() throws {
        var o = BenchTrainOptions()
        (o.batch, o.steps, o.warmup) = (4, 1, 0)
        let r = try Benchmarks.train(o, blas: blas)
        #expect(r.params == Self.tinyParameters && r.batch == 4 && r.config == "tiny")
        #expect(r.samplesPerS > 0 && r.loss.isFinite && r.loss > 0 && r.peakRssMib > 0)
        #expect(r.data == nil && r.workers == nil && r.inMemorySamplesPerS == nil && r.loaderRatio == nil)
        #expect(try keys(r) == ["bench", "config", "batch", "threads", "blas", "params", "samples_per_s", "peak_rss_mib", "loss"])
        o.batch = 1
        #expect(throws: BenchmarkError.self) { try Benchmarks.train(o, blas: blas) }
    }

    @Test func trainFromShards() throws {
        let dir = try TempDirectory()
        var o = BenchTrainOptions()
        (o.batch, o.steps, o.warmup, o.workers) = (4, 2, 1, 0)
        o.data = try smallSynthCorpus(dir.file("corpus"), pairs: 60, shardSize: 30, tasksPerClass: 0)
        let r = try Benchmarks.train(o, blas: blas)
        #expect(r.data == o.data && r.workers == 0 && r.params == Self.tinyParameters)
        let memory = try #require(r.inMemorySamplesPerS), ratio = try #require(r.loaderRatio)
        #expect(r.samplesPerS > 0 && memory > 0 && ratio > 0 && r.loss.isFinite)
        #expect(abs(ratio - r.samplesPerS / memory) < 0.01 * ratio + 0.001)  // up to the rounding of the rates
        #expect(try keys(r) == ["bench", "config", "batch", "threads", "blas", "params", "data", "workers", "samples_per_s",
                                "in_memory_samples_per_s", "loader_ratio", "peak_rss_mib", "loss"])
    }

    static func data(n: Int = 2000, d: Int = 16, k: Int = 8) -> BenchKMeansData {
        var data = BenchKMeansData()
        (data.n, data.d, data.k) = (n, d, k)
        return data
    }

    @Test func kmeans() throws {
        var o = BenchKMeansOptions()
        (o.data, o.iterations) = (Self.data(), 2)
        let r = try Benchmarks.kmeans(o, blas: blas)
        #expect((r.n, r.d, r.k, r.iters) == (2000, 16, 8, 2) && (r.balanced, r.tol, r.empty) == (true, 0.02, 0))
        // Sizes within ±2% of 2000/8 = 250, i.e. 245...255: max/min ≤ 255/245 = 1.0408.
        #expect(r.sizeMaxOverMin >= 1 && r.sizeMaxOverMin <= 1.041)
        #expect(r.nearestSizeMaxOverMin >= 1 && r.objective > 0 && r.sPerIter >= 0 && r.cpuSPerIter >= 0)
        #expect(r.leftovers >= 0 && r.pulls >= 0 && r.moves >= 0 && r.assignPointsPerS > 0)
        #expect(try keys(r) == ["bench", "n", "d", "k", "threads", "blas", "balanced", "tol", "iters", "s_per_iter",
                                "cpu_s_per_iter", "objective", "size_max_over_min", "empty", "nearest_size_max_over_min",
                                "leftovers", "pulls", "moves", "assign_points_per_s"])

        (o.balanced, o.initialization) = (false, .kmeansPlusPlus)
        let plain = try Benchmarks.kmeans(o, blas: blas)
        #expect(!plain.balanced && plain.pulls == 0 && plain.moves == 0 && plain.leftovers == 0)
        o.data.k = 3000
        #expect(throws: BenchmarkError.self) { try Benchmarks.kmeans(o, blas: blas) }
    }

    @Test func assign() throws {
        var o = BenchAssignOptions()
        o.data = Self.data()
        let r = try Benchmarks.assign(o, blas: blas)
        #expect((r.n, r.d, r.k, r.top) == (2000, 16, 8, nil))
        // Unit vectors: squared distances lie in [0, 4].
        let mean = try #require(r.meanDistance)
        #expect(mean > 0 && mean < 4 && r.assignPointsPerS > 0 && r.cpuS >= 0)
        #expect(try keys(r) == ["bench", "n", "d", "k", "threads", "blas", "mean_distance", "assign_points_per_s", "cpu_s"])

        o.top = 3
        let top = try Benchmarks.assign(o, blas: blas)
        #expect(top.top == 3 && top.meanDistance == nil && top.assignPointsPerS > 0)
        #expect(try keys(top) == ["bench", "n", "d", "k", "threads", "blas", "top", "assign_points_per_s", "cpu_s"])
        o.top = 9
        #expect(throws: BenchmarkError.self) { try Benchmarks.assign(o, blas: blas) }
    }

    @Test func captions() {
        let words = Set(("a photo of the red blue small large dog cat car tree house beach sunset city street person "
            + "woman man child playing running sitting on in with near under food plate pizza bird flower "
            + "mountain river boat airplane train bicycle logo icon drawing painting vintage poster sale").split(separator: " "))
        let captions = Benchmarks.captions(200)
        #expect(captions.count == 200 && captions == Benchmarks.captions(200))
        for caption in captions {
            let w = caption.split(separator: " ")
            #expect((5...16).contains(w.count) && w.allSatisfy(words.contains))
        }
        #expect(Set(captions.map { $0.split(separator: " ").count }).count > 6)
    }

    @Test func embed() throws {
        guard let model = SentenceModelLocation.defaultMiniLM(),
              FileManager.default.fileExists(atPath: model + "/model.safetensors") else {
            Issue.record("all-MiniLM-L6-v2 is missing (.deps/minilm); run scripts/fetch_minilm.sh")
            return
        }
        var o = BenchEmbedOptions()
        (o.model, o.n, o.batch) = (model, 10, 4)
        let r = try Benchmarks.embed(o, blas: blas)
        #expect(r.model.count == 2 && r.model[1] == URL(fileURLWithPath: model).standardizedFileURL.lastPathComponent)
        #expect(r.pooling == "mean")  // all-MiniLM-L6-v2's sentence-transformers pooling
        #expect((r.n, r.batch) == (10, 4) && r.sentencesPerS > 0 && r.peakRssMib > 0)
        #expect(try keys(r) == ["bench", "model", "n", "batch", "threads", "blas", "pooling", "sentences_per_s", "peak_rss_mib"])
        o.model = "/nonexistent-model-folder"
        #expect(throws: (any Error).self) { try Benchmarks.embed(o, blas: blas) }
    }

    @Test func jsonLine() throws {
        struct Line: Encodable { var zeta = 2.5; var alpha = "a/b"; var flag = true; var list = [1, 2]; var none: Int? = nil }
        #expect(String(decoding: try JSONFile.data(Line(), pretty: false), as: UTF8.self) == #"{"alpha":"a/b","flag":true,"list":[1,2],"zeta":2.5}"# + "\n")
    }

    @Test func processClock() {
        let t = ProcessClock.now(), cpu = ProcessClock.cpuSeconds()
        var x = 0.0
        for i in 0..<200_000 { x += Double(i).squareRoot() }
        #expect(x > 0)
        #expect(ProcessClock.seconds(since: t) > 0)
        #expect(ProcessClock.cpuSeconds() >= cpu && cpu >= 0)
        #expect(ProcessClock.peakRSSMiB() > 1)
    }
}
