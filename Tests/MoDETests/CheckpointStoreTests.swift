import Foundation
import Testing
import TestSupport
@testable import MoDE
import MoDETensor
import MoDEFormats

@Suite struct CheckpointStoreTests {
    func model() -> (ParameterArena, Linear) {
        let b = ParameterBuilder()
        let lin = Linear(b.scoped("proj"), in: 3, out: 2)
        b.add("logit_scale", [])
        let arena = b.build()
        var rng = SeededRNG(seed: 7)
        for p in arena.params { arena.initNormal(p, std: 1, rng: &rng) }
        return (arena, lin)
    }

    @Test func saveAndLoadRoundTrip() throws {
        let dir = try TempDirectory()
        let (a, _) = model()
        let opt = AdamW(a)
        var rng = SeededRNG(seed: 1)
        for p in a.params { for i in 0..<p.count { a.grad(p)[i] = rng.nextNormal() } }
        opt.update(lr: 1e-2)
        opt.update(lr: 1e-2)
        let store = CheckpointStore(runDirectory: dir.path)
        let written = TrainerState(step: 2, rng: SeededRNG(seed: 3), data: .synthetic(next: 8), dataStats: nil)
        let saved = try store.save(step: 2, arena: a, optimizer: opt, state: written)
        #expect(store.latest() == saved)
        #expect(try CheckpointStore.resolveModelFile(dir.path) == saved + "/model.safetensors")

        let (b, _) = model()
        for i in 0..<b.count { b.values.data[i] = 0 }
        let opt2 = AdamW(b)
        let state = try CheckpointStore.load(saved, arena: b, optimizer: opt2)
        #expect(state == written)
        #expect(b.values.array == a.values.array && opt2.m.array == opt.m.array && opt2.v.array == opt.v.array)
        #expect(opt2.step == 2)
        // the model file holds exactly the parameters, under their names, scalar as shape []
        let f = try SafeTensorsFile(path: saved + "/model.safetensors")
        #expect(Set(f.names) == ["proj.weight", "proj.bias", "logit_scale"] && f.info("logit_scale")!.shape == [])
    }

    @Test func keepsNewestAndIgnoresInterruptedWrites() throws {
        let dir = try TempDirectory()
        let (a, _) = model()
        let store = CheckpointStore(runDirectory: dir.path)
        for step in [1, 2, 3] { try store.save(step: step, arena: a, optimizer: nil, state: TrainerState(step: step, rng: SeededRNG(seed: 0), data: .synthetic(next: 0), dataStats: nil), keep: 2) }
        #expect(store.all().map { ($0 as NSString).lastPathComponent } == ["step_00000002", "step_00000003"])
        // a half-written checkpoint from a killed process is never "latest"
        try FileManager.default.createDirectory(atPath: store.directory + "/.tmp-step_00000004-999999", withIntermediateDirectories: true)
        #expect((store.latest()! as NSString).lastPathComponent == "step_00000003")
        try store.save(step: 4, arena: a, optimizer: nil, state: TrainerState(step: 4, rng: SeededRNG(seed: 0), data: .synthetic(next: 0), dataStats: nil))
        #expect(!FileManager.default.fileExists(atPath: store.directory + "/.tmp-step_00000004-999999"))
    }

    @Test func unknownPathIsAClearError() throws {
        let dir = try TempDirectory()
        #expect(throws: CheckpointError.notFound(dir.file("nothing"))) { try CheckpointStore.resolveModelFile(dir.file("nothing")) }
    }
}
