import Foundation
import MoDEModels
import MoDENN
import MoDETensor
import TestSupport
import MoDEFormats

/// Opens Tests/ModelsTests/Fixtures/`name`.safetensors.

/// The counter-hash values that tools/clip_fixtures.py uses for weights and images, bit for bit:
/// element i of tensor `name` is offset + v · scale with v uniform in [−1, 1) from SplitMix64's
/// finaliser applied to fnv1a64(name) + (i + 1)·0x9E3779B97F4A7C15. Scales are powers of two, so
/// the product is exact and the sum rounds once, the same way in both languages.
enum FixtureValues {
    static func fill(_ p: UnsafeMutablePointer<Float>, count: Int, name: String, scale: Float, offset: Float = 0) {
        let seed = StableHash.fnv1a(name)
        for i in 0..<count {
            let z = StableHash.finalise(seed &+ UInt64(i + 1) &* 0x9E37_79B9_7F4A_7C15)
            let v = Float(z >> 40) * 0x1p-24 * 2 - 1
            p[i] = v * scale + offset
        }
    }

    static func tensor(_ name: String, shape: [Int], scale: Float) -> Tensor {
        let t = Tensor(shape: shape)
        fill(t.data, count: t.count, name: name, scale: scale)
        return t
    }
}

/// A CLIP model as a tools/clip_fixtures.py fixture describes it: the config from the metadata
/// (`model_cfg`), each parameter filled from its `init.<name>` (offset, scale).
func fixtureModel(_ file: SafeTensorsFile) throws -> CLIPModel {
    let config = try JSONDecoder().decode(CLIPConfig.self, from: Data(file.metadata["model_cfg", default: ""].utf8))
    let model = CLIPModel(config: config)
    for (p, spec) in zip(model.arena.params, model.arena.specs) {
        let rule = try file.tensor("init." + spec.name)
        FixtureValues.fill(model.arena.value(p), count: p.count, name: spec.name, scale: rule[1], offset: rule[0])
    }
    return model
}
