import Foundation
import Testing
import TestSupport
import MoDE
import MoDEFormats

/// `mode convert` as a library call: a transformers folder to open_clip's layout and back, the
/// source folder protected, run folders resolved.
@Suite struct CheckpointConversionTests {
    static let config = CLIPConfig(embedDim: 12, vision: .init(imageSize: 16, patchSize: 8, width: 16, layers: 1, headWidth: 8),
                                   text: .init(contextLength: 8, vocabSize: 64, width: 24, heads: 3, layers: 1), quickGELU: true)

    @Test func convertsBothWaysBitForBit() throws {
        let dir = try TempDirectory()
        let model = CLIPModel(config: Self.config, seed: 3)
        try model.saveHuggingFaceFolder(dir.file("hf"))
        let (toOpenCLIP, description) = try CheckpointConversion.convert(checkpoint: dir.file("hf"), config: nil, to: dir.file("oc"), format: .openCLIP)
        #expect(toOpenCLIP.from == "transformers CLIP (safetensors)" && toOpenCLIP.verified && toOpenCLIP.activation == "QuickGELU")
        #expect(description.hasSuffix("activation QuickGELU (from config.json hidden_act)"))
        #expect(FileManager.default.fileExists(atPath: dir.file("oc/open_clip_config.json")))
        let (back, _) = try CheckpointConversion.convert(checkpoint: dir.file("oc"), config: nil, to: dir.file("hf2"), format: .huggingFace)
        #expect(back.from == "open_clip (safetensors)")
        let a = try SafeTensorsFile(path: dir.file("hf/model.safetensors")), b = try SafeTensorsFile(path: dir.file("hf2/model.safetensors"))
        #expect(a.names.sorted() == b.names.sorted())
        for n in a.names { #expect(try Array(a.rawBytes(n)) == Array(b.rawBytes(n)), "\(n)") }
        let loaded = try CLIPModel.load(checkpoint: dir.file("hf2"), config: nil)
        #expect((0..<model.arena.values.count).allSatisfy { loaded.arena.values.data[$0] == model.arena.values.data[$0] })
    }

    @Test func refusesToWriteOverItsSource() throws {
        let dir = try TempDirectory()
        try CLIPModel(config: Self.config, seed: 3).saveOpenCLIPFolder(dir.file("oc"))
        #expect(throws: CheckpointError.self) {
            try CheckpointConversion.convert(checkpoint: dir.file("oc"), config: nil, to: dir.file("oc"), format: .huggingFace)
        }
    }

    @Test func initRefusesACheckpointOfAnotherActivation() throws {
        let dir = try TempDirectory()
        try CLIPModel(config: Self.config, seed: 3).saveHuggingFaceFolder(dir.file("hf"))
        var gelu = Self.config
        gelu.quickGELU = false
        #expect { try CLIPModel(config: gelu).load(checkpoint: dir.file("hf")) } throws: { e in
            guard case CLIPCheckpointError.configMismatch = e else { return false }
            return "\(e)".hasSuffix("QuickGELU, but the model is ViT: 16 px, patch 8, 1×16 (2 heads); text: 1×24 (3 heads), context 8, vocab 64; embed 12, GELU")
        }
        // The same file without its config is read with the model's.
        try FileManager.default.removeItem(atPath: dir.file("hf/config.json"))
        let opened = try CLIPModel(config: gelu).load(checkpoint: dir.file("hf"))
        #expect(opened.description.hasSuffix("activation GELU (from the model's config)"))
    }
}
