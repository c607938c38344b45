import ArgumentParser
import Foundation
import MoDE

struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "CLIP training throughput (forward, contrastive loss, backward, AdamW): samples/s, one JSON line.",
        discussion: """
            Same work and keys as shared/peers/clip_train.py: a randomly initialised model, random \
            images (normal), token rows with <start_of_text>, random ids, <end_of_text> at L/2 and \
            zeros after; AdamW (lr 5e-4, wd 0.2); --warmup untimed steps, then --steps timed steps.

            With --data, batches come from the shard loader instead, and the same work is timed on \
            batches already in memory (the first 4 the loader gave, in turn), alternating the two \
            twice: samples_per_s (loader) vs in_memory_samples_per_s and their ratio, on the same \
            content (the text tower's cost depends on the captions' lengths).
            """)

    @Option(help: "Model config: a preset (\(CLIPConfig.presetNames.joined(separator: ", "))) or an open_clip JSON file.")
    var config = "tiny"
    @Option(help: "Batch size.") var batch = 256
    @Option(help: "Timed steps.") var steps = 10
    @Option(help: "Untimed steps first.") var warmup = 2
    @Option(help: "Training shards (brace notation): time the loader feeding the steps.") var data: String?
    @Option(help: "Loader decoding threads with --data (0: inline); default as for mode train.") var workers: Int?
    @OptionGroup var options: BenchOptions

    func validate() throws {
        guard batch > 1, steps > 0, warmup >= 0 else { throw ValidationError("--batch must be > 1, --steps > 0, --warmup ≥ 0") }
        if let workers, workers < 0 { throw ValidationError("--workers must be 0 or more") }
    }

    func run() throws {
        let blas = try options.setUp()
        let cfg = try CLIPConfig.load(config)
        let model = CLIPModel(config: cfg, seed: 0)
        model.reserveTraining(batch: batch)
        let opt = AdamW(model.arena, weightDecay: 0.2)
        if let data {
            try runWithLoader(data, model: model, optimizer: opt, blas: blas)
            return
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

    /// --data: steps fed by the loader, alternating with steps on batches held in memory.
    func runWithLoader(_ spec: String, model: CLIPModel, optimizer: AdamW, blas: BLASInfo) throws {
        let (s, l) = (model.config.vision.imageSize, model.config.text.contextLength)
        let w = workers ?? LoaderOptions.automaticWorkers(computeThreads: Parallel.threads, cores: BLAS.availableCores())
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
        for _ in 0..<warmup {
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
            var start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<steps {
                try source.next(images: images.data, texts: texts, batch: batch)
                step()
            }
            streamed += seconds(since: start)
            start = DispatchTime.now().uptimeNanoseconds
            for k in 0..<steps {
                let h = held[k % held.count]
                h.0.withUnsafeBufferPointer { images.data.update(from: $0.baseAddress!, count: n) }
                h.1.withUnsafeBufferPointer { texts.update(from: $0.baseAddress!, count: batch * l) }
                step()
            }
            inMemory += seconds(since: start)
        }
        let rate = Double(2 * batch * steps) / streamed, memoryRate = Double(2 * batch * steps) / inMemory
        try printJSONLine([
            "bench": "train", "config": config, "batch": batch, "threads": blas.threads, "blas": blas.backend.rawValue,
            "params": model.arena.parameterCount, "data": spec, "workers": w,
            "samples_per_s": rounded(rate), "in_memory_samples_per_s": rounded(memoryRate),
            "loader_ratio": rounded(rate / memoryRate, 3),
            "peak_rss_mib": rounded(peakRSSMiB(), 1), "loss": Double(loss),
        ])
    }
}
