import MoDEModels
import MoDETensor

/// What `Benchmarks.encode` times.
public struct BenchEncodeOptions: Sendable, Equatable {
    /// A preset name or an open_clip JSON file (`CLIPConfig.load`).
    public var config = "b16"
    public var batch = 16
    /// Timed calls per tower (after one warm-up).
    public var steps = 5
    /// After the timed calls, `steps` more of each tower under the profiler.
    public var profile = false
    /// The GEMM peak for the profile's MFU, GFLOP/s; nil: measured (`Benchmarks.gemmPeak`).
    public var peakGflops: Double?

    public static let `default` = BenchEncodeOptions()

    public init() {}

    public func validate() throws {
        guard batch > 0, steps > 0 else { throw BenchmarkError("--batch and --steps must be positive") }
        if let peakGflops, !(peakGflops > 0) { throw BenchmarkError("--peak-gflops must be positive") }
    }
}

/// CLIP inference throughput of each tower (`mode bench encode`).
public struct BenchEncodeResult: Codable, Sendable, Equatable {
    public var bench = "encode"
    public var config: String
    public var batch: Int
    public var steps: Int
    public var threads: Int
    public var blas: String
    public var imagesPerS: Double
    public var textsPerS: Double
    public var peakRssMib: Double
    /// With `profile`: where the time went; a step is one call of each tower.
    public var profile: BenchProfile?

    enum CodingKeys: String, CodingKey {
        case bench, config, batch, steps, threads, blas, profile
        case imagesPerS = "images_per_s", textsPerS = "texts_per_s", peakRssMib = "peak_rss_mib"
    }
}

extension Benchmarks {
    /// The work of the peer's clip_encode.py: a randomly initialised model, normal random images,
    /// token rows of <start_of_text>, random ids, <end_of_text> at position 12 and zeros after;
    /// per tower one warm-up call, then `steps` timed calls. With `profile`, `steps` more calls of
    /// each tower run under the profiler, in the regions "image" and "text" (model FLOPs:
    /// `ModelFLOPs.visionForward` and `textForward` per item).
    public static func encode(_ options: BenchEncodeOptions, blas: BLASInfo) throws -> BenchEncodeResult {
        try options.validate()
        let (batch, steps) = (options.batch, options.steps)
        let cfg = try CLIPConfig.load(options.config)
        let model = CLIPModel(config: cfg, seed: 0)
        var rng = SeededRNG(seed: 1)
        let s = cfg.vision.imageSize, l = cfg.text.contextLength, v = cfg.text.vocabSize
        let images = Tensor.randn([batch, 3, s, s], rng: &rng)
        var ids = [Int32](repeating: 0, count: batch * l)
        let eot = min(12, l - 1)
        for b in 0..<batch {
            for t in 0..<eot { ids[b * l + t] = Int32(1 + rng.nextInt(max(1, min(v, 49406) - 1))) }
            ids[b * l] = Int32(min(49406, v - 2))
            ids[b * l + eot] = Int32(min(49407, v - 1))
        }
        let features = Tensor(shape: [batch, cfg.embedDim])
        func rate(_ body: () -> Void) -> Double {
            body()
            let start = ProcessClock.now()
            for _ in 0..<steps { body() }
            return Double(batch * steps) / ProcessClock.seconds(since: start)
        }
        let imagesPerS = rate { model.encodeImage(features.data, images.data, batch: batch) }
        let textsPerS = ids.withUnsafeBufferPointer { p in rate { CLIPTextEncoder.encode(features.data, ids: p.baseAddress!, count: batch, model: model) } }
        var profile: BenchProfile?
        if options.profile {
            let b = Double(batch)
            let work = [("image", b * ModelFLOPs.visionForward(cfg.vision, embedDim: cfg.embedDim)),
                        ("text", b * ModelFLOPs.textForward(cfg.text, embedDim: cfg.embedDim))]
            profile = try profiled(steps: steps, work: work, peakGflops: options.peakGflops, blas: blas) {
                for _ in 0..<steps { Profiler.region("image") { model.encodeImage(features.data, images.data, batch: batch) } }
                ids.withUnsafeBufferPointer { p in
                    for _ in 0..<steps {
                        Profiler.region("text") { CLIPTextEncoder.encode(features.data, ids: p.baseAddress!, count: batch, model: model) }
                    }
                }
            }
        }
        return BenchEncodeResult(
            config: options.config, batch: batch, steps: steps, threads: blas.threads, blas: blas.backend.rawValue,
            imagesPerS: rounded(imagesPerS), textsPerS: rounded(textsPerS), peakRssMib: rounded(ProcessClock.peakRSSMiB(), 1),
            profile: profile)
    }
}
