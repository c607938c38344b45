import ArgumentParser
import MoDE
import Foundation

struct BenchDecode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Image decode + CLIP eval preprocessing (resize, centre crop, normalise): images/s.",
        discussion: """
            Makes --n JPEGs in memory (256×256 smooth random content, quality 90, as the peer script does), \
            then times decoding each and preprocessing it into a (3, S, S) float buffer. Also reports the \
            two stages timed apart on one thread (decode_ms, preprocess_ms per image).
            """)

    @Option(help: "Number of images.") var n = 500
    @Option(help: "Output side S of the preprocessing.") var size = 224
    @Option(help: "Threads (images are split across them; the peer figure is for 1).") var threads = 1
    @Flag(help: "Decode JPEGs with libjpeg's DCT scaling down to about S (faster for large images; not PIL-exact).")
    var draftScaling = false
    @Option(help: "Seed of the image content.") var seed: UInt64 = 0

    func validate() throws {
        guard n > 0 else { throw ValidationError("--n must be positive") }
        guard size > 0 else { throw ValidationError("--size must be positive") }
        guard threads > 0 else { throw ValidationError("--threads must be positive") }
    }

    func run() throws {
        var rng = SeededRNG(seed: seed)
        let blobs = (0..<n).map { _ in encodeJPEG(smoothRandomImage(width: 256, height: 256, grid: 8, rng: &rng), quality: 90) }
        let draft = draftScaling ? size : nil
        Parallel.threads = threads
        let chunks = min(threads, n)
        var errors = [ImageError?](repeating: nil, count: chunks)
        let start = DispatchTime.now().uptimeNanoseconds
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
        let total = seconds(since: start)
        if let e = errors.compactMap({ $0 }).first { throw e }

        // The two stages apart, one thread: decoding every image, then preprocessing one decoded image n times.
        var t = DispatchTime.now().uptimeNanoseconds
        for b in blobs { _ = try decodeImage(b, draftScaling: draft) }
        let decodeSeconds = seconds(since: t)
        let image = try decodeImage(blobs[0], draftScaling: draft)
        let pre = CLIPPreprocessor(size: size)
        var out = [Float](repeating: 0, count: 3 * size * size)
        t = DispatchTime.now().uptimeNanoseconds
        out.withUnsafeMutableBufferPointer { o in for _ in 0..<n { pre.eval(o.baseAddress!, image) } }
        let preprocessSeconds = seconds(since: t)

        try printJSONLine([
            "bench": "decode", "n": n, "size": size, "threads": threads,
            "images_per_s": rounded(Double(n) / total, 1),
            "mean_jpeg_bytes": blobs.reduce(0) { $0 + $1.count } / n,
            "draft_scaling": draftScaling,
            "decode_ms": rounded(decodeSeconds / Double(n) * 1000, 3),
            "preprocess_ms": rounded(preprocessSeconds / Double(n) * 1000, 3),
        ])
    }
}
