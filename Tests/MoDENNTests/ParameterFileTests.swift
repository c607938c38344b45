import Foundation
import Testing
import TestSupport
@testable import MoDENN
import MoDETensor
import MoDEFormats

@Suite struct ParameterFileTests {
    func model() -> (ParameterArena, Linear) {
        let b = ParameterBuilder()
        let lin = Linear(b.scoped("proj"), in: 3, out: 2)
        b.add("logit_scale", [])
        let arena = b.build()
        var rng = SeededRNG(seed: 7)
        for p in arena.params { arena.initNormal(p, std: 1, rng: &rng) }
        return (arena, lin)
    }

    @Test func mismatchedCheckpointsAreClearErrors() throws {
        let dir = try TempDirectory()
        let (a, _) = model()
        var w = SafeTensorsWriter()
        a.write(to: &w)
        w.add("extra.weight", Tensor(shape: [1]))
        try w.write(to: dir.file("extra.safetensors"))
        #expect(throws: CheckpointError.unexpectedTensor(file: dir.file("extra.safetensors"), name: "extra.weight")) {
            try a.read(from: SafeTensorsFile(path: dir.file("extra.safetensors")))
        }
        var w2 = SafeTensorsWriter()
        w2.add("proj.weight", Tensor(shape: [3, 2]))
        try w2.write(to: dir.file("bad.safetensors"))
        let f = try SafeTensorsFile(path: dir.file("bad.safetensors"))
        #expect(throws: CheckpointError.shapeMismatch(file: f.path, name: "proj.weight", expected: [2, 3], found: [3, 2])) {
            try a.read(from: f)
        }
        var w3 = SafeTensorsWriter()
        w3.add("proj.weight", Tensor(shape: [2, 3]))
        try w3.write(to: dir.file("missing.safetensors"))
        #expect(throws: CheckpointError.missingTensor(file: dir.file("missing.safetensors"), name: "proj.bias")) {
            try a.read(from: SafeTensorsFile(path: dir.file("missing.safetensors")))
        }
    }
}
