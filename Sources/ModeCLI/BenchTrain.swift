import ArgumentParser
import Foundation
import Models
import NN
import Tensor

struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "CLIP training throughput (forward, contrastive loss, backward, AdamW): samples/s, one JSON line.",
        discussion: """
            Same work and keys as shared/peers/clip_train.py: a randomly initialised model, random \
            images (normal), token rows with <start_of_text>, random ids, <end_of_text> at L/2 and \
            zeros after; AdamW (lr 5e-4, wd 0.2); --warmup untimed steps, then --steps timed steps.
            """)

    @Option(help: "Model config: a preset (\(CLIPConfig.presetNames.joined(separator: ", "))) or an open_clip JSON file.")
    var config = "tiny"
    @Option(help: "Batch size.") var batch = 256
    @Option(help: "Timed steps.") var steps = 10
    @Option(help: "Untimed steps first.") var warmup = 2
    @OptionGroup var options: BenchOptions

    func validate() throws {
        guard batch > 1, steps > 0, warmup >= 0 else { throw ValidationError("--batch must be > 1, --steps > 0, --warmup ≥ 0") }
    }

    func run() throws {
        let blas = try options.setUp()
        let cfg = try CLIPConfig.load(config)
        let model = CLIPModel(config: cfg, seed: 0)
        model.reserveTraining(batch: batch)
        let opt = AdamW(model.arena, weightDecay: 0.2)
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
        for _ in 0..<warmup { step() }
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<steps { step() }
        let dt = seconds(since: start)
        try printJSONLine([
            "bench": "train", "config": config, "batch": batch, "threads": blas.threads, "blas": blas.backend.rawValue,
            "params": model.arena.parameterCount, "samples_per_s": rounded(Double(batch * steps) / dt),
            "peak_rss_mib": rounded(peakRSSMiB(), 1), "loss": Double(loss),
        ])
    }
}
