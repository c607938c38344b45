import ArgumentParser
import Data
import Foundation
import Tensor

struct BenchDecode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Image decode + CLIP eval preprocessing (resize, centre crop, normalise): images/s.",
        discussion: """
            Makes --n JPEGs in memory (256×256 smooth random content, quality 90, as the peer script does), \
            then times decoding each and preprocessing it into one (3, S, S) float buffer.
            """)

    @Option(help: "Number of images.") var n = 500
    @Option(help: "Output side S of the preprocessing.") var size = 224
    @Option(help: "Threads (images are split across them; the peer figure is for 1).") var threads = 1
    @Flag(help: "Decode JPEGs with libjpeg's DCT scaling down to about S (faster; not PIL-exact).") var draftScaling = false
    @Option(help: "Seed of the image content.") var seed: UInt64 = 0

    func validate() throws {
        guard n > 0 else { throw ValidationError("--n must be positive") }
        guard size > 0 else { throw ValidationError("--size must be positive") }
        guard threads > 0 else { throw ValidationError("--threads must be positive") }
    }

    func run() throws {
        var rng = SeededRNG(seed: seed)
        let blobs = (0..<n).map { _ in encodeJPEG(smoothRandomImage(width: 256, height: 256, grid: 8, rng: &rng), quality: 90) }
        Parallel.threads = threads
        let chunks = min(threads, n)
        var failures = [Int](repeating: 0, count: chunks)
        let start = DispatchTime.now().uptimeNanoseconds
        failures.withUnsafeMutableBufferPointer { fails in
            let failPtr = fails.baseAddress!
            Parallel.forEach(chunks) { range in
                for c in range {
                    let pre = CLIPPreprocessor(size: size)
                    var out = [Float](repeating: 0, count: 3 * size * size)
                    out.withUnsafeMutableBufferPointer { o in
                        for i in stride(from: c, to: n, by: chunks) {
                            do {
                                let image = try decodeImage(blobs[i], draftScaling: draftScaling ? size : nil)
                                pre.eval(o.baseAddress!, image)
                            } catch {
                                failPtr[c] += 1
                            }
                        }
                    }
                }
            }
        }
        let dt = seconds(since: start)
        let failed = failures.reduce(0, +)
        if failed > 0 { throw ValidationError("\(failed) of \(n) images failed to decode") }
        try printJSONLine([
            "bench": "decode", "n": n, "size": size, "threads": threads,
            "images_per_s": rounded(Double(n) / dt, 1),
            "mean_jpeg_bytes": blobs.reduce(0) { $0 + $1.count } / n,
            "draft_scaling": draftScaling,
        ])
    }
}
