import Foundation
import Testing
import MoDETensor
import TestSupport
@testable import MoDE

/// A fake clock for the profiler: 10 ns more at each read on the thread that made it; other
/// threads (tests running alongside) read it without moving it.
final class SteppingClock: @unchecked Sendable {
    private let thread = pthread_self()
    private var t: UInt64 = 0
    func read() -> UInt64 {
        if pthread_equal(thread, pthread_self()) != 0 { t += 10 }
        return t
    }
}

/// The profiler's accounting, by structure and on a fake clock (never how fast), and that
/// profiling leaves the numbers unchanged. Serialized: the profile is one per process, and
/// only this suite starts it.
@Suite(.serialized) struct ProfilerTests {
    @Test func nestedRegionsOnAFakeClock() {
        #expect(!Profiler.isEnabled)
        #expect(Profiler.region("profiler-test.off") { 42 } == 42)
        let early = Profiler.enter("profiler-test.off")
        let clock = SteppingClock()
        Profiler.start(clock: clock.read)
        Profiler.exit(early)
        #expect(Profiler.isEnabled)
        for _ in 0..<3 {
            Profiler.region("profiler-test.outer") {
                Profiler.region("profiler-test.inner") {}
                Profiler.region("profiler-test.inner") {}
            }
        }
        let token = Profiler.enter("profiler-test.tokens")
        Profiler.exit(token)
        let r = Profiler.stop()
        #expect(!Profiler.isEnabled)
        // Reads per outer call: enter 10, inner 20–30, inner 40–50, exit 60: inclusive 50, of which
        // 20 in the inner regions.
        let outer = r.region("profiler-test.outer"), inner = r.region("profiler-test.outer/profiler-test.inner")
        #expect(outer == .init(path: "profiler-test.outer", depth: 0, calls: 3, inclusive: 150, exclusive: 90))
        #expect(inner == .init(path: "profiler-test.outer/profiler-test.inner", depth: 1, calls: 6, inclusive: 60, exclusive: 60))
        #expect(r.region("profiler-test.tokens")?.calls == 1 && r.region("profiler-test.tokens")?.inclusive == 10)
        #expect(r.region("profiler-test.off") == nil && r.region("profiler-test.inner") == nil)
        // Depth first, in order of first entry.
        let mine = r.regions.map(\.path).filter { $0.hasPrefix("profiler-test") }
        #expect(mine == ["profiler-test.outer", "profiler-test.outer/profiler-test.inner", "profiler-test.tokens"])
    }

    @Test func gemmShapesAndFLOPs() {
        var rng = SeededRNG(seed: 5)
        let a = Tensor.randn([64], rng: &rng), b = Tensor.randn([64], rng: &rng), c = Tensor(shape: [64])
        Profiler.start()
        Matmul.gemm(c.data, a.data, b.data, m: 3, n: 5, k: 7)
        Matmul.gemm(c.data, a.data, b.data, m: 3, n: 5, k: 7)
        Matmul.gemm(c.data, a.data, b.data, m: 3, n: 5, k: 7, transB: true)
        Matmul.gemmBatched(c.data, a.data, b.data, batch: 4, m: 2, n: 3, k: 5, strideA: 10, strideB: 15, strideC: 6)
        let r = Profiler.stop()
        func calls(_ s: GEMMShape) -> Int? { r.gemms.first { $0.shape == s }?.calls }
        #expect(calls(GEMMShape(m: 3, n: 5, k: 7)) == 2)
        #expect(calls(GEMMShape(m: 3, n: 5, k: 7, transB: true)) == 1)
        // The batched call counts once, with its 4 products (not as 4 calls of its own).
        #expect(calls(GEMMShape(m: 2, n: 3, k: 5, batch: 4)) == 1)
        #expect(!r.gemms.contains { ($0.shape.m, $0.shape.n, $0.shape.k, $0.shape.batch) == (2, 3, 5, 1) })
        // 2·m·n·k per product: 2·3·5·7 = 210; 4 · 2·2·3·5 = 240.
        #expect(GEMMShape(m: 3, n: 5, k: 7).flops == 210)
        #expect(GEMMShape(m: 2, n: 3, k: 5, batch: 4).flops == 240)
        #expect(GEMMShape(m: 2, n: 3, k: 5, transA: true, batch: 4).label == "4·2×3×5 AᵀB")
    }

    /// A training step and the encoders give bit-identical numbers with the profiler on, and the
    /// profile has the tower's structure.
    @Test func profilingChangesNoNumber() throws {
        let config = CLIPConfig(embedDim: 8, vision: .init(imageSize: 8, patchSize: 4, width: 16, layers: 2, headWidth: 8),
                                text: .init(contextLength: 6, vocabSize: 40, width: 16, heads: 2, layers: 3))
        let model = CLIPModel(config: config, seed: 3)
        var rng = SeededRNG(seed: 4)
        let batch = 3
        let images = Tensor.randn([batch, 3, 8, 8], rng: &rng)
        var ids = [Int32](repeating: 0, count: batch * 6)
        for (b, e) in [2, 5, 3].enumerated() {
            ids[b * 6] = 38
            for t in 1..<e { ids[b * 6 + t] = Int32(1 + rng.nextInt(36)) }
            ids[b * 6 + e] = 39
        }
        func run() -> (Float, [Float], [Float], [Float]) {
            let loss = ids.withUnsafeBufferPointer { model.forwardBackward(images: images.data, texts: $0.baseAddress!, batch: batch) }
            let grads = Array(UnsafeBufferPointer(start: model.arena.grads.data, count: model.arena.count))
            let image = Tensor(shape: [batch, 8]), text = Tensor(shape: [batch, 8])
            model.encodeImage(image.data, images.data, batch: batch)
            ids.withUnsafeBufferPointer { model.encodeText(text.data, $0.baseAddress!, batch: batch) }
            return (loss, grads, image.array, text.array)
        }
        let off = run()
        Profiler.start()
        let on = Profiler.region("profiler-test.step") { run() }
        let r = Profiler.stop()
        #expect(off.0.bitPattern == on.0.bitPattern)
        #expect(off.1.map(\.bitPattern) == on.1.map(\.bitPattern))
        #expect(off.2.map(\.bitPattern) == on.2.map(\.bitPattern) && off.3.map(\.bitPattern) == on.3.map(\.bitPattern))
        func calls(_ path: String) -> Int? { r.region("profiler-test.step/" + path)?.calls }
        // Vision: 2 layers (1 full block + the last, class token only); text: 3 layers; one
        // training step and one inference call each.
        #expect(calls("vision.fwd") == 2 && calls("text.fwd") == 2)
        #expect(calls("vision.fwd/block") == 2 && calls("vision.fwd/block.last") == 2)
        #expect(calls("vision.fwd/block/attn/qkv") == 2 && calls("vision.fwd/block/mlp/c_fc") == 2)
        #expect(calls("text.fwd/block") == 4 && calls("text.fwd/block/attn/core") == 4)
        #expect(calls("vision.bwd/block") == 1 && calls("text.bwd/block") == 2 && calls("text.bwd/block.last/attn.in_proj") == 1)
        #expect(calls("loss") == 1 && calls("zero_grad") == 1 && calls("vision.fwd/patch_embed") == 2)
        for region in r.regions where region.path.hasPrefix("profiler-test") {
            #expect(region.exclusive <= region.inclusive, "\(region.path)")
            let children = r.regions.filter { $0.depth == region.depth + 1 && $0.path.hasPrefix(region.path + "/") && !$0.threaded }
            #expect(children.reduce(0) { $0 + $1.inclusive } <= region.inclusive, "\(region.path)")
        }
        #expect(!r.gemms.isEmpty)
    }

    /// The summary's per-step figures and MFU on a made-up record: 2 steps of 1 s; a 1000³
    /// product taking 0.2 s per step is 2 GFLOP / 0.2 s = 10 GFLOP/s, 10% of a 100 GFLOP/s
    /// peak; 50 GFLOP per step in 1 s is 50 GFLOP/s, an MFU of 0.5.
    @Test func summaryFigures() throws {
        let record = ProfileRecord(
            regions: [.init(path: "step", depth: 0, calls: 2, inclusive: 2_000_000_000, exclusive: 1_000_000_000),
                      .init(path: "step/x", depth: 1, calls: 4, inclusive: 1_000_000_000, exclusive: 1_000_000_000)],
            gemms: [.init(shape: GEMMShape(m: 1000, n: 1000, k: 1000), calls: 2, nanoseconds: 400_000_000)])
        let p = BenchProfile(record, steps: 2, work: [("step", 5e10)], peakGflops: 100, peakMeasured: false, threads: 2)
        #expect(p.stepMs == 1000 && p.mfu == 0.5)
        #expect(p.work == [.init(region: "step", gflopPerStep: 50, msPerStep: 1000, mfu: 0.5)])
        #expect(p.regions[1] == .init(path: "step/x", callsPerStep: 2, msPerStep: 500, exclusiveMsPerStep: 500, percent: 50, threaded: false))
        let g = try #require(p.gemms.first)
        #expect((g.callsPerStep, g.msPerStep, g.gflops, g.percentOfPeak, g.percentOfStep) == (1, 200, 10, 10, 20))
        #expect(p.tables().contains("MFU (whole step): 50.0%"))
    }

    @Test func benchTrainProfile() throws {
        var o = BenchTrainOptions()
        (o.batch, o.steps, o.warmup, o.profile, o.peakGflops) = (4, 1, 0, true, 50)
        let r = try Benchmarks.train(o, blas: try BLAS.info())
        let p = try #require(r.profile)
        #expect(p.steps == 1 && p.peakGflops == 50 && !p.peakMeasured)
        #expect(p.work.map(\.region) == ["step"] && p.mfu > 0)
        let paths = Set(p.regions.map(\.path))
        #expect(paths.isSuperset(of: ["step", "step/vision.fwd", "step/text.bwd", "step/loss", "step/adamw"]))
        let object = try JSONSerialization.jsonObject(with: try JSONFile.data(r, pretty: false)) as? [String: Any]
        let profile = try #require(object?["profile"] as? [String: Any])
        #expect(Set(profile.keys) == ["steps", "peak_gflops", "peak_measured", "step_ms", "mfu", "work", "regions", "gemms"])
        o.profile = false
        #expect(try Benchmarks.train(o, blas: try BLAS.info()).profile == nil)
        o.peakGflops = 0
        #expect(throws: BenchmarkError.self) { try Benchmarks.train(o, blas: try BLAS.info()) }
    }
}
