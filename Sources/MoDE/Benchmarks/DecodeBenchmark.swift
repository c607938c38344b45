import MoDEData
import MoDETensor

/// What `Benchmarks.decode` times.
public struct BenchDecodeOptions: Sendable, Equatable {
    /// Number of images.
    public var n = 500
    /// Output side S of the preprocessing.
    public var size = 224
    /// Threads the images are split across (the peer figure is for 1).
    public var threads = 1
    /// Decode JPEGs with libjpeg's DCT scaling down to about S (faster; not PIL-exact).
    public var draftScaling = false
    /// Seed of the image content.
    public var seed: UInt64 = 0

    public static let `default` = BenchDecodeOptions()

    public init() {}

    public func validate() throws {
        guard n > 0 else { throw BenchmarkError("--n must be positive") }
        guard size > 0 else { throw BenchmarkError("--size must be positive") }
        guard threads > 0 else { throw BenchmarkError("--threads must be positive") }
    }
}

/// Image decode + CLIP eval preprocessing throughput (`mode bench decode`).
public struct BenchDecodeResult: Codable, Sendable, Equatable {
    public var bench = "decode"
    public var n: Int
    public var size: Int
    public var threads: Int
    public var imagesPerS: Double
    /// Mean size of the generated JPEGs (integer division).
    public var meanJpegBytes: Int
    public var draftScaling: Bool
    /// The two stages timed apart on one thread, per image.
    public var decodeMs: Double
    public var preprocessMs: Double

    enum CodingKeys: String, CodingKey {
        case bench, n, size, threads
        case imagesPerS = "images_per_s", meanJpegBytes = "mean_jpeg_bytes", draftScaling = "draft_scaling"
        case decodeMs = "decode_ms", preprocessMs = "preprocess_ms"
    }
}

extension Benchmarks {
    /// Makes `n` JPEGs in memory (256×256 smooth random content, quality 90, as the peer script
    /// does), then times decoding each and preprocessing it into a (3, S, S) float buffer, the
    /// images split over `threads` threads (`Parallel.threads` is set for the call and restored).
    /// Then, on one thread, decoding every image, and preprocessing one decoded image `n` times.
    public static func decode(_ options: BenchDecodeOptions) throws -> BenchDecodeResult {
        try options.validate()
        let (n, size) = (options.n, options.size)
        var rng = SeededRNG(seed: options.seed)
        let blobs = (0..<n).map { _ in encodeJPEG(smoothRandomImage(width: 256, height: 256, grid: 8, rng: &rng), quality: 90) }
        let draft = options.draftScaling ? size : nil
        let savedThreads = Parallel.threads
        Parallel.threads = options.threads
        defer { Parallel.threads = savedThreads }
        let chunks = min(options.threads, n)
        var errors = [ImageError?](repeating: nil, count: chunks)
        let start = ProcessClock.now()
        errors.withUnsafeMutableBufferPointer { errs in
            Parallel.forEach(chunks) { range in
                for c in range {
                    let pre = CLIPPreprocessor(size: size)
                    var out = [Float](repeating: 0, count: 3 * size * size)
                    out.withUnsafeMutableBufferPointer { o in
                        for i in stride(from: c, to: n, by: chunks) {
                            do {
                                pre.eval(o.baseAddress!, try decodeImage(blobs[i], draftScaling: draft))
                            } catch {
                                errs[c] = error as? ImageError
                            }
                        }
                    }
                }
            }
        }
        let total = ProcessClock.seconds(since: start)
        if let e = errors.compactMap({ $0 }).first { throw e }

        // The two stages apart, one thread.
        var t = ProcessClock.now()
        for b in blobs { _ = try decodeImage(b, draftScaling: draft) }
        let decodeSeconds = ProcessClock.seconds(since: t)
        let image = try decodeImage(blobs[0], draftScaling: draft)
        let pre = CLIPPreprocessor(size: size)
        var out = [Float](repeating: 0, count: 3 * size * size)
        t = ProcessClock.now()
        out.withUnsafeMutableBufferPointer { o in for _ in 0..<n { pre.eval(o.baseAddress!, image) } }
        let preprocessSeconds = ProcessClock.seconds(since: t)

        return BenchDecodeResult(
            n: n, size: size, threads: options.threads, imagesPerS: rounded(Double(n) / total, 1),
            meanJpegBytes: blobs.reduce(0) { $0 + $1.count } / n, draftScaling: options.draftScaling,
            decodeMs: rounded(decodeSeconds / Double(n) * 1000, 3),
            preprocessMs: rounded(preprocessSeconds / Double(n) * 1000, 3))
    }
}
