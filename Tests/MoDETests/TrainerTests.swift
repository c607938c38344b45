import Foundation
import Testing
import MoDENN
import MoDETensor
import TestSupport
@testable import MoDE

/// A toy model for testing the trainer itself: loss = mean_b ‖W·x_b − e(t_b)‖² with x_b the
/// first 4 pixels of image b and e(t) a one-hot of the text's class token. Optionally reports a
/// NaN loss at a given call.
final class ToyModel: ContrastiveModel {
    let arena: ParameterArena
    let w: Param
    let scale: Param
    var calls = 0
    var nanAtCall: Int?

    init(seed: UInt64) {
        let b = ParameterBuilder()
        w = b.add("proj.weight", [4, 4])
        scale = b.add("logit_scale", [])
        arena = b.build()
        var rng = SeededRNG(seed: seed)
        arena.initNormal(w, std: 0.5, rng: &rng)
        arena.initConstant(scale, 2.6592)
    }

    func forwardBackward(images: UnsafePointer<Float>, texts: UnsafePointer<Int32>, batch: Int) -> Float {
        calls += 1
        arena.zeroGrad()
        let W = arena.value(w), G = arena.grad(w)
        var loss: Double = 0
        let stride = 3 * 8 * 8
        for b in 0..<batch {
            let x = images + b * stride
            let c = Int(texts[b * 8 + 1] - SyntheticPairs.firstToken) % 4
            for i in 0..<4 {
                var y: Float = 0
                for j in 0..<4 { y += W[i * 4 + j] * x[j] }
                let r = y - (i == c ? 1 : 0)
                loss += Double(r * r)
                for j in 0..<4 { G[i * 4 + j] += 2 * r * x[j] / Float(batch) }
            }
        }
        if calls == nanAtCall { return .nan }
        return Float(loss / Double(batch))
    }

    func clampLogitScale() {
        let s = arena.value(scale)
        s[0] = min(max(s[0], 0), log(100))
    }

    var logitScale: Float { exp(arena.value(scale)[0]) }
}

@Suite struct TrainerTests {
    func trainer(_ dir: String, steps: Int, model: ToyModel, saveEvery: Int = 2, start: TrainingStart = .fresh,
                 fork: String? = nil) throws -> Trainer {
        var o = TrainingOptions(batch: 4, steps: steps)
        o.lr = 1e-2
        o.warmup = 2
        o.saveEvery = saveEvery
        o.gradClipNorm = 1
        let src = SyntheticPairs(classes: 4, imageSize: 8, contextLength: 8, seed: 3)
        return try Trainer(runDirectory: dir, model: model, source: src,
                           parameters: RunParameters(options: o, data: src.summary, fork: fork), start: start,
                           imageSize: 8, contextLength: 8)
    }

    func losses(_ dir: String) throws -> [Float] { try StepMetrics.read(dir + "/metrics.jsonl").map(\.loss) }

    @Test func resumeReproducesTheUninterruptedRun() throws {
        let a = try TempDirectory(), b = try TempDirectory()
        let full = try trainer(a.path, steps: 8, model: ToyModel(seed: 1))
        try full.run()
        // The same run, stopped after step 5 (its last checkpoint is step 4), then resumed by a new
        // trainer with a freshly initialised model: everything must come from the checkpoint.
        let first = try trainer(b.path, steps: 8, model: ToyModel(seed: 1))
        try first.run(until: 5)
        let second = try trainer(b.path, steps: 8, model: ToyModel(seed: 99), start: .resume)
        #expect(second.startStep == 4 && second.resumed)
        try second.run()
        #expect(try losses(b.path) == losses(a.path))  // bit-exact: same arithmetic, same order
        #expect(try losses(a.path).count == 8)
        #expect(second.model.arena.values.array == full.model.arena.values.array)
    }

    /// A fork continues another run's schedule and optimizer from its checkpoint: with the
    /// data stream in the same place (here: the synthetic source restored by hand), it equals
    /// that run exactly; its own resume works; a fork at or past the last step is refused.
    @Test func forkContinuesTheScheduleAndOptimizer() throws {
        let a = try TempDirectory(), b = try TempDirectory(), c = try TempDirectory()
        let seed = try trainer(a.path, steps: 10, model: ToyModel(seed: 1))
        try seed.run(until: 4)  // checkpoint at step 4
        let position = seed.source.position

        let fork = try trainer(b.path, steps: 10, model: ToyModel(seed: 77), start: .fork(a.path))
        #expect(fork.startStep == 4)
        #expect(fork.optimizer.step == 4)
        try fork.source.restore(position, stats: nil)  // same stream as the seed (an expert's would differ)
        try fork.run(until: 7)
        // Killed after step 7 (checkpoint at 6): a resume of the forked run continues it.
        let again = try trainer(b.path, steps: 10, model: ToyModel(seed: 5), start: .resume)
        #expect(again.startStep == 6)
        try again.run()
        try seed.run()
        let s = try StepMetrics.read(a.path + "/metrics.jsonl"), f = try StepMetrics.read(b.path + "/metrics.jsonl")
        #expect(f.map(\.step) == Array(5...10))
        #expect(f.map(\.lr) == Array(s[4...].map(\.lr)))  // the seed's schedule, steps 5–10
        #expect(f.map(\.loss) == Array(s[4...].map(\.loss)))  // bit-exact: weights, moments, RNG and data all continued
        let params = try RunFolder(b.path).readParameters()
        #expect(params.fork == a.path && params.forkStep == 4)

        // The seed now ends at step 10.
        #expect { try self.trainer(c.path, steps: 10, model: ToyModel(seed: 1), start: .fork(a.path)) } throws: { "\($0)".contains("step 10") }
    }

    @Test func refusesToOverwriteARunAndChecksResumeOptions() throws {
        let d = try TempDirectory()
        let t = try trainer(d.path, steps: 4, model: ToyModel(seed: 1))
        try t.run()
        #expect(throws: TrainingError.runExists(d.path)) { try self.trainer(d.path, steps: 4, model: ToyModel(seed: 1)) }
        #expect { try self.trainer(d.path, steps: 9, model: ToyModel(seed: 1), start: .resume) } throws: {
            "\($0)".contains("steps was 4, now 9")
        }
        #expect { try self.trainer(d.path, steps: 4, model: ToyModel(seed: 1), start: .resume, fork: "/elsewhere") } throws: {
            "\($0)".contains("fork was none, now /elsewhere")
        }
        #expect(throws: TrainingError.self) {
            var o = TrainingOptions(batch: 1, steps: 4)
            o.lr = 1
            try o.validate()
        }
    }

    @Test func nonFiniteLossStopsAndKeepsTheLastCheckpoint() throws {
        let d = try TempDirectory()
        let m = ToyModel(seed: 1)
        m.nanAtCall = 5
        let t = try trainer(d.path, steps: 8, model: m)
        do {
            try t.run()
            Issue.record("a NaN loss did not stop training")
        } catch let e as TrainingError {
            guard case .nonFinite(let step, _, let last) = e else { Issue.record("\(e)"); return }
            #expect(step == 5 && last?.hasSuffix("step_00000004") == true)
            #expect(e.description.contains("step_00000004"))
        }
        #expect(try losses(d.path).count == 4)
        #expect(CheckpointStore(runDirectory: d.path).all().count == 2)
    }

    /// Files of another format version are refused with a message naming the file and version.
    @Test func unknownFormatVersionsAreClearErrors() throws {
        let d = try TempDirectory()
        let t = try trainer(d.path, steps: 2, model: ToyModel(seed: 1))
        try t.run()
        let params = d.path + "/params.json"
        let text = try String(contentsOfFile: params, encoding: .utf8).replacingOccurrences(of: "\"format_version\" : 1", with: "\"format_version\" : 7")
        try text.write(toFile: params, atomically: true, encoding: .utf8)
        #expect { try self.trainer(d.path, steps: 2, model: ToyModel(seed: 1), start: .resume) } throws: {
            "\($0)" == "\(params): run parameters (params.json) format_version 7 is not supported; this build reads format_version 1"
        }
        let state = try #require(CheckpointStore(runDirectory: d.path).latest()) + "/state.json"
        try Data(#"{"step": 2}"#.utf8).write(to: URL(fileURLWithPath: state))
        #expect { try TrainerState.read(checkpoint: (state as NSString).deletingLastPathComponent) } throws: {
            "\($0)".hasPrefix(state + ": not a trainer state (state.json) file of this version: it has no format_version")
        }
    }
}
