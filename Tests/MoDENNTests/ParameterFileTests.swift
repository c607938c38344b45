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
        w2.add("proj.bias", Tensor(shape: [2]))
        w2.add("logit_scale", Tensor(shape: []))
        try w2.write(to: dir.file("bad.safetensors"))
        let f = try SafeTensorsFile(path: dir.file("bad.safetensors"))
        #expect(throws: CheckpointError.shapeMismatch(file: f.path, name: "proj.weight", expected: [2, 3], found: [3, 2])) {
            try a.read(from: f)
        }
        var w3 = SafeTensorsWriter()
        w3.add("proj.weight", Tensor(shape: [2, 3]))
        try w3.write(to: dir.file("missing.safetensors"))
        w3.add("logit_scale", Tensor(shape: []))
        try w3.write(to: dir.file("one-missing.safetensors"))
        #expect(throws: CheckpointError.missingTensor(file: dir.file("one-missing.safetensors"), name: "proj.bias")) {
            try a.read(from: SafeTensorsFile(path: dir.file("one-missing.safetensors")))
        }
        // Several wrong names: all of them, missing ones in the model's order, before any shape is checked.
        w.add("other.bias", Tensor(shape: [1]))
        try w.write(to: dir.file("several.safetensors"))
        #expect(throws: CheckpointError.tensorNames(file: dir.file("missing.safetensors"), missing: ["proj.bias", "logit_scale"], unexpected: [])) {
            try a.read(from: SafeTensorsFile(path: dir.file("missing.safetensors")))
        }
        #expect(throws: CheckpointError.tensorNames(file: dir.file("several.safetensors"), missing: [], unexpected: ["extra.weight", "other.bias"])) {
            try a.read(from: SafeTensorsFile(path: dir.file("several.safetensors")))
        }
        #expect(CheckpointError.tensorNames(file: "f", missing: ["a", "b"], unexpected: ["c"]).description
                == "f: 2 missing tensors: a, b; 1 unexpected tensor (not parameters of this model): c")
    }
}
