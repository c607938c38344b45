import MoDEData
import MoDEModels
import MoDENN
import MoDETensor
import MoDETokenizers

/// What `Benchmarks.train` times.
public struct BenchTrainOptions: Sendable, Equatable {
    /// A preset name or an open_clip JSON file (`CLIPConfig.load`).
    public var config = "tiny"
    public var batch = 256
    /// Timed steps.
    public var steps = 10
    /// Untimed steps first.
    public var warmup = 2
    /// Training shards (brace notation): feed the steps from the shard loader.
    public var data: String?
    /// Loader decoding threads with `data` (0: inline); nil: as for training
    /// (`LoaderOptions.automaticWorkers`).
    public var workers: Int?
    /// After the timed steps, run `steps` more under the profiler (`BenchTrainResult.profile`).
    public var profile = false
    /// The GEMM peak for the profile's MFU, GFLOP/s; nil: measured (`Benchmarks.gemmPeak`).
    public var peakGflops: Double?

    public static let `default` = BenchTrainOptions()

    public init() {}

    public func validate() throws {
        guard batch > 1, steps > 0, warmup >= 0 else { throw BenchmarkError("--batch must be > 1, --steps > 0, --warmup ≥ 0") }
        if let workers, workers < 0 { throw BenchmarkError("--workers must be 0 or more") }
        if let peakGflops, !(peakGflops > 0) { throw BenchmarkError("--peak-gflops must be positive") }
    }
}

/// CLIP training throughput (`mode bench train`). The loader fields are present only with `data`.
public struct BenchTrainResult: Codable, Sendable, Equatable {
    public var bench = "train"
    public var config: String
    public var batch: Int
    public var threads: Int
    public var blas: String
    public var params: Int
    /// With `data`: the shard specification and the loader's decoding threads.
    public var data: String?
    public var workers: Int?
    /// Samples per second of the timed steps (with `data`: the steps fed by the loader).
    public var samplesPerS: Double
    /// With `data`: the same steps on batches held in memory, and `samplesPerS` over it.
    public var inMemorySamplesPerS: Double?
    public var loaderRatio: Double?
    public var peakRssMib: Double
    /// The loss of the last timed step.
    public var loss: Double
    /// With `profile`: where the time of the profiled steps went.
    public var profile: BenchProfile?

    enum CodingKeys: String, CodingKey {
        case bench, config, batch, threads, blas, params, data, workers, loss, profile
        case samplesPerS = "samples_per_s", inMemorySamplesPerS = "in_memory_samples_per_s"
        case loaderRatio = "loader_ratio", peakRssMib = "peak_rss_mib"
    }
}

extension Benchmarks {
    /// The work of the peer's clip_train.py: a randomly initialised model trained with AdamW
    /// (lr 5e-4, weight decay 0.2; forward, contrastive loss, backward, update, logit-scale clamp)
    /// on normal random images and token rows of <start_of_text>, random ids, <end_of_text> at
    /// L/2 and zeros after; `warmup` untimed steps, then `steps` timed steps.
    ///
    /// With `data`, batches come from the shard loader instead, and the same work is timed on
    /// batches already in memory (the first 4 the loader gave, in turn), alternating the two
    /// twice, on the same content (the text tower's cost depends on the captions' lengths).
    ///
    /// With `profile`, `steps` more steps (fed by the loader with `data`) run under the profiler,
    /// each in the region "step"; the model FLOPs are `ModelFLOPs.clipTrainingStep`.
    public static func train(_ options: BenchTrainOptions, blas: BLASInfo) throws -> BenchTrainResult {
        try options.validate()
        let batch = options.batch
        let cfg = try CLIPConfig.load(options.config)
        let model = CLIPModel(config: cfg, seed: 0)
        model.reserveTraining(batch: batch)
        let opt = AdamW(model.arena, weightDecay: 0.2)
        if let data = options.data {
            return try trainWithLoader(data, options, model: model, optimizer: opt, blas: blas)
        }
        var rng = SeededRNG(seed: 1)
        let s = cfg.vision.imageSize, l = cfg.text.contextLength
        let images = Tensor.randn([batch, 3, s, s], rng: &rng)
        var ids = [Int32](repeating: 0, count: batch * l)
        for b in 0..<batch {
            for t in 1..<(l / 2) { ids[b * l + t] = Int32(1 + rng.nextInt(49405)) }
            ids[b * l] = 49406
            ids[b * l + l / 2] = 49407
        }
        var loss: Float = 0
        func step() {
            loss = ids.withUnsafeBufferPointer { model.forwardBackward(images: images.data, texts: $0.baseAddress!, batch: batch) }
            opt.update(lr: 5e-4)
            model.clampLogitScale()
        }
        for _ in 0..<options.warmup { step() }
        let start = ProcessClock.now()
        for _ in 0..<options.steps { step() }
        let dt = ProcessClock.seconds(since: start)
        let lastLoss = Double(loss)
        let profile = try trainProfile(options, cfg, blas: blas) { step() }
        return BenchTrainResult(
            config: options.config, batch: batch, threads: blas.threads, blas: blas.backend.rawValue,
            params: model.arena.parameterCount, samplesPerS: rounded(Double(batch * options.steps) / dt),
            peakRssMib: rounded(ProcessClock.peakRSSMiB(), 1), loss: lastLoss, profile: profile)
    }

    /// With `options.profile`: `steps` runs of `step` under the profiler, each in the region "step".
    private static func trainProfile(_ options: BenchTrainOptions, _ cfg: CLIPConfig, blas: BLASInfo,
                                     _ step: () throws -> Void) throws -> BenchProfile? {
        guard options.profile else { return nil }
        return try profiled(steps: options.steps, work: [("step", ModelFLOPs.clipTrainingStep(cfg, batch: options.batch))],
                            peakGflops: options.peakGflops, blas: blas) {
            for _ in 0..<options.steps { try Profiler.region("step") { try step() } }
        }
    }

    /// `data`: steps fed by the loader, alternating with steps on batches held in memory.
    private static func trainWithLoader(_ spec: String, _ options: BenchTrainOptions, model: CLIPModel, optimizer: AdamW,
                                        blas: BLASInfo) throws -> BenchTrainResult {
        let (batch, steps) = (options.batch, options.steps)
        let (s, l) = (model.config.vision.imageSize, model.config.text.contextLength)
        let w = options.workers ?? LoaderOptions.automaticWorkers(computeThreads: Parallel.threads, cores: BLAS.availableCores())
        let source = try ShardSource(spec: spec, imageSize: s, contextLength: l, tokenizer: try CLIPTokenizer(), workers: w, seed: 0)
        let n = batch * 3 * s * s
        let images = Tensor(shape: [batch, 3, s, s])
        let texts = UnsafeMutablePointer<Int32>.allocate(capacity: batch * l)
        defer { texts.deallocate() }
        var loss: Float = 0
        func step() {
            loss = model.forwardBackward(images: images.data, texts: texts, batch: batch)
            optimizer.update(lr: 5e-4)
            model.clampLogitScale()
        }
        for _ in 0..<options.warmup {
            try source.next(images: images.data, texts: texts, batch: batch)
            step()
        }
        var held: [([Float], [Int32])] = []
        for _ in 0..<min(4, steps) {
            try source.next(images: images.data, texts: texts, batch: batch)
            held.append((images.array, Array(UnsafeBufferPointer(start: texts, count: batch * l))))
        }
        var streamed = 0.0, inMemory = 0.0
        for _ in 0..<2 {
            var start = ProcessClock.now()
            for _ in 0..<steps {
                try source.next(images: images.data, texts: texts, batch: batch)
                step()
            }
            streamed += ProcessClock.seconds(since: start)
            start = ProcessClock.now()
            for k in 0..<steps {
                let h = held[k % held.count]
                h.0.withUnsafeBufferPointer { images.data.update(from: $0.baseAddress!, count: n) }
                h.1.withUnsafeBufferPointer { texts.update(from: $0.baseAddress!, count: batch * l) }
                step()
            }
            inMemory += ProcessClock.seconds(since: start)
        }
        let rate = Double(2 * batch * steps) / streamed, memoryRate = Double(2 * batch * steps) / inMemory
        let lastLoss = Double(loss)
        let profile = try trainProfile(options, model.config, blas: blas) {
            try Profiler.region("loader") { try source.next(images: images.data, texts: texts, batch: batch) }
            step()
        }
        return BenchTrainResult(
            config: options.config, batch: batch, threads: blas.threads, blas: blas.backend.rawValue,
            params: model.arena.parameterCount, data: spec, workers: w,
            samplesPerS: rounded(rate), inMemorySamplesPerS: rounded(memoryRate), loaderRatio: rounded(rate / memoryRate, 3),
            peakRssMib: rounded(ProcessClock.peakRSSMiB(), 1), loss: lastLoss, profile: profile)
    }
}
