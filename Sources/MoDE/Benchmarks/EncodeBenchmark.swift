import MoDEModels
import MoDETensor

/// What `Benchmarks.encode` times.
public struct BenchEncodeOptions: Sendable, Equatable {
    /// A preset name or an open_clip JSON file (`CLIPConfig.load`).
    public var config = "b16"
    public var batch = 16
    /// Timed calls per tower (after one warm-up).
    public var steps = 5

    public static let `default` = BenchEncodeOptions()

    public init() {}

    public func validate() throws {
        guard batch > 0, steps > 0 else { throw BenchmarkError("--batch and --steps must be positive") }
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

    enum CodingKeys: String, CodingKey {
        case bench, config, batch, steps, threads, blas
        case imagesPerS = "images_per_s", textsPerS = "texts_per_s", peakRssMib = "peak_rss_mib"
    }
}

extension Benchmarks {
    /// The work of the peer's clip_encode.py: a randomly initialised model, normal random images,
    /// token rows of <start_of_text>, random ids, <end_of_text> at position 12 and zeros after;
    /// per tower one warm-up call, then `steps` timed calls.
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
        return BenchEncodeResult(
            config: options.config, batch: batch, steps: steps, threads: blas.threads, blas: blas.backend.rawValue,
            imagesPerS: rounded(imagesPerS), textsPerS: rounded(textsPerS), peakRssMib: rounded(ProcessClock.peakRSSMiB(), 1))
    }
}
