import Foundation
import MoDEModels
import MoDETensor

/// What `Benchmarks.embed` times.
public struct BenchEmbedOptions: Sendable, Equatable {
    /// Caption encoder directory; nil: `SentenceModelLocation.defaultMiniLM()`.
    public var model: String?
    /// Captions to embed.
    public var n = 4096
    /// Texts per forward pass.
    public var batch = 64
    /// After the timed pass, embed the captions once more under the profiler.
    public var profile = false
    /// The GEMM peak for the profile's MFU, GFLOP/s; nil: measured (`Benchmarks.gemmPeak`).
    public var peakGflops: Double?

    public static let `default` = BenchEmbedOptions()

    public init() {}

    public func validate() throws {
        guard n > 0, batch > 0 else { throw BenchmarkError("--n and --batch must be positive") }
        if let peakGflops, !(peakGflops > 0) { throw BenchmarkError("--peak-gflops must be positive") }
    }

    /// `model`, or the default caption encoder's directory.
    public func modelDirectory() throws -> String { try SentenceModelLocation.resolve(model) }
}

/// Caption embedding throughput (`mode bench embed`).
public struct BenchEmbedResult: Codable, Sendable, Equatable {
    public var bench = "embed"
    /// The model directory's parent folder and its own name.
    public var model: [String]
    public var n: Int
    public var batch: Int
    public var threads: Int
    public var blas: String
    /// The pooling the directory describes (`BERTPooling`'s raw value).
    public var pooling: String
    public var sentencesPerS: Double
    public var peakRssMib: Double
    /// With `profile`: where the time went; the step is the whole pass.
    public var profile: BenchProfile?

    enum CodingKeys: String, CodingKey {
        case bench, model, n, batch, threads, blas, pooling, profile
        case sentencesPerS = "sentences_per_s", peakRssMib = "peak_rss_mib"
    }
}

extension Benchmarks {
    /// `n` captions of 5–16 words drawn from the peer script's word list.
    public static func captions(_ n: Int, seed: UInt64 = 0) -> [String] {
        let words = ("a photo of the red blue small large dog cat car tree house beach sunset city street person "
            + "woman man child playing running sitting on in with near under food plate pizza bird flower "
            + "mountain river boat airplane train bicycle logo icon drawing painting vintage poster sale").split(separator: " ").map(String.init)
        var rng = SeededRNG(seed: seed)
        return (0..<n).map { _ in
            (0..<(5 + rng.nextInt(12))).map { _ in words[rng.nextInt(words.count)] }.joined(separator: " ")
        }
    }

    /// The work of the peer's sentence_embed.py (sentence-transformers): `captions(n)`, one
    /// untimed batch, then all captions embedded in batches of `batch`. With `profile`, one more
    /// pass runs under the profiler in the region "embed" (model FLOPs:
    /// `ModelFLOPs.bertEmbedding`, batches padded as the peer pads them).
    public static func embed(_ options: BenchEmbedOptions, blas: BLASInfo) throws -> BenchEmbedResult {
        try options.validate()
        let (n, batch) = (options.n, options.batch)
        let dir = try options.modelDirectory()
        let encoder = try SentenceEncoder(directory: dir)
        let caps = captions(n)
        _ = encoder.embed(Array(caps.prefix(batch)), batchSize: batch)
        let t = ProcessClock.now()
        let features = encoder.embed(caps, batchSize: batch)
        let dt = ProcessClock.seconds(since: t)
        precondition(features.shape == [n, encoder.dimension])
        var profile: BenchProfile?
        if options.profile {
            let flops = ModelFLOPs.bertEmbedding(encoder.model.config, lengths: encoder.tokenize(caps).map(\.count), batchSize: batch)
            profile = try profiled(steps: 1, work: [("embed", flops)], peakGflops: options.peakGflops, blas: blas) {
                _ = Profiler.region("embed") { encoder.embed(caps, batchSize: batch) }
            }
        }
        let url = URL(fileURLWithPath: dir).standardizedFileURL
        return BenchEmbedResult(
            model: [url.deletingLastPathComponent().lastPathComponent, url.lastPathComponent],
            n: n, batch: batch, threads: blas.threads, blas: blas.backend.rawValue,
            pooling: encoder.spec.pooling.rawValue,
            sentencesPerS: rounded(Double(n) / dt, 1), peakRssMib: rounded(ProcessClock.peakRSSMiB(), 1), profile: profile)
    }
}
