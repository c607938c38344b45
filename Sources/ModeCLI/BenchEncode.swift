import ArgumentParser
import MoDE
import Foundation

struct BenchEncode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "CLIP inference throughput: images/s and texts/s (encode_image / encode_text), one JSON line.",
        discussion: """
            Same work and keys as shared/peers/clip_encode.py: a randomly initialised model, random \
            images, token rows with <start_of_text>, random ids, <end_of_text> at position 12 and \
            zeros after; one warm-up call per tower, then --steps timed calls.
            """)

    @Option(help: "Model config: a preset (\(CLIPConfig.presetNames.joined(separator: ", "))) or an open_clip JSON file.")
    var config = "b16"
    @Option(help: "Batch size.") var batch = 16
    @Option(help: "Timed calls per tower (after one warm-up).") var steps = 5
    @OptionGroup var options: BenchOptions

    func validate() throws {
        guard batch > 0, steps > 0 else { throw ValidationError("--batch and --steps must be positive") }
    }

    func run() throws {
        let blas = try options.setUp()
        let cfg = try CLIPConfig.load(config)
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
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<steps { body() }
            return Double(batch * steps) / seconds(since: start)
        }
        let imagesPerS = rate { model.encodeImage(features.data, images.data, batch: batch) }
        let textsPerS = ids.withUnsafeBufferPointer { p in rate { CLIPTextEncoder.encode(features.data, ids: p.baseAddress!, count: batch, model: model) } }
        try printJSONLine([
            "bench": "encode", "config": config, "batch": batch, "steps": steps, "threads": blas.threads,
            "blas": blas.backend.rawValue, "images_per_s": rounded(imagesPerS), "texts_per_s": rounded(textsPerS),
            "peak_rss_mib": rounded(peakRSSMiB(), 1),
        ])
    }
}
