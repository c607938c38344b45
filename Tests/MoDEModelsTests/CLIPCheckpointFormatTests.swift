import Foundation
@testable import MoDEModels
import MoDENN
import MoDETensor
import TestSupport
import Testing
import MoDEFormats

/// Every checkpoint format through one entry point, against tools/clip_checkpoint_fixtures.py's
/// folder: an open_clip model in open_clip's hub layout, the same weights as a transformers
/// CLIPModel (QuickGELU) and a transformers GELU model, each saved by its own library, with the
/// features that library computes on fixed inputs.
@Suite struct CLIPCheckpointFormatTests {
    static func folder() throws -> String { try fixtureDirectory("checkpoints") }
    static func io() throws -> SafeTensorsFile { try SafeTensorsFile(path: folder() + "/io.safetensors") }

    /// Encodes the fixture inputs and compares with `name`'s features.
    func expectFeatures(_ model: CLIPModel, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let io = try Self.io()
        let images = try io.tensor("images"), texts = try io.int32s("texts")
        let b = images.shape[0], e = model.embedDim
        let img = Tensor(shape: [b, e]), txt = Tensor(shape: [b, e])
        model.encodeImage(img.data, images.data, batch: b)
        texts.withUnsafeBufferPointer { model.encodeText(txt.data, $0.baseAddress!, batch: b) }
        // float32 against the writer's float64 from the same float32 weights.
        expectClose(img, try io.tensor(name + ".image_features"), relTol: 1e-5, "\(name) image features", sourceLocation: sourceLocation)
        expectClose(txt, try io.tensor(name + ".text_features"), relTol: 1e-5, "\(name) text features", sourceLocation: sourceLocation)
    }

    @Test(arguments: ["open_clip", "hf_quickgelu", "hf_gelu"])
    func importsEachFormatAndEncodesLikeItsWriter(name: String) throws {
        let dir = try Self.folder() + "/" + name
        let (model, ckpt) = try CLIPModel.open(checkpoint: dir, config: nil)
        #expect(ckpt.layout == (name == "open_clip" ? .openCLIP : .huggingFace))
        #expect(model.config.quickGELU == (name != "hf_gelu"))
        try expectFeatures(model, name)
        // The weights file alone finds its config beside it, too.
        let file = try CLIPModel.modelFile(dir)
        try expectFeatures(try CLIPModel.load(checkpoint: file, config: nil), name)
    }

    @Test func transformersConfigMapsToTheOpenCLIPConfigOfTheSameModel() throws {
        let dir = try Self.folder()
        let openCLIP = try CLIPConfig.load(dir + "/open_clip/open_clip_config.json")
        var hf = try HuggingFaceCLIPConfig.read(dir + "/hf_quickgelu/config.json").clipConfig()
        #expect(abs(hf.initLogitScale - 2.6592) < 1e-12)
        hf.initLogitScale = openCLIP.initLogitScale
        #expect(hf == openCLIP)
        let gelu = try CLIPConfig.load(dir + "/hf_gelu/config.json")  // --config accepts a transformers config.json
        #expect(!gelu.quickGELU && gelu.text.width == 24 && gelu.text.heads == 3 && gelu.vision.headWidth == 8)
    }

    @Test func exportsTheTensorsTransformersWrites() throws {
        let dir = try Self.folder()
        let model = try CLIPModel.load(checkpoint: dir + "/open_clip", config: nil)
        let tmp = try TempDirectory()
        try model.saveHuggingFaceFolder(tmp.path)
        // The fixture's hf_quickgelu holds the same weights, converted and saved by transformers.
        let theirs = try SafeTensorsFile(path: dir + "/hf_quickgelu/model.safetensors")
        let ours = try SafeTensorsFile(path: tmp.file("model.safetensors"))
        #expect(Set(ours.names) == Set(theirs.names.filter { !$0.hasSuffix("position_ids") }))
        for name in theirs.names where !name.hasSuffix("position_ids") {
            #expect(ours.shape(name) == theirs.shape(name), "\(name)")
            let a = try ours.floatTensor(name), b = try theirs.floatTensor(name)
            #expect((0..<a.count).allSatisfy { a.data[$0] == b.data[$0] }, "\(name) differs")
        }
        let cfg = try JSONValue.read(tmp.file("config.json")), ref = try JSONValue.read(dir + "/hf_quickgelu/config.json")
        for key in ["projection_dim"] { #expect(cfg[key] == ref[key], "\(key)") }
        for section in ["text_config", "vision_config"] {
            for key in ["hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "hidden_act",
                        "max_position_embeddings", "vocab_size", "image_size", "patch_size", "eos_token_id", "bos_token_id"]
            where ref[section]?[key] != nil {
                #expect(cfg[section]?[key] == ref[section]?[key], "\(section).\(key)")
            }
        }
        // And it reads back as the same model.
        let back = try CLIPModel.load(checkpoint: tmp.path, config: nil)
        #expect(back.config.quickGELU && back.arena.values.count == model.arena.values.count)
        #expect((0..<model.arena.values.count).allSatisfy { back.arena.values.data[$0] == model.arena.values.data[$0] })
    }

    @Test func describesTheArchitectureAndWhereTheActivationCameFrom() throws {
        let dir = try Self.folder()
        let gelu = try CLIPCheckpoint.open(dir + "/hf_gelu", config: nil)
        #expect(gelu.description.hasSuffix(
            "ViT: 16 px, patch 8, 2×16 (2 heads); text: 2×24 (3 heads), context 8, vocab 64; embed 12; activation GELU (from config.json hidden_act)"))
        #expect(gelu.description.hasPrefix("transformers CLIP (safetensors) "))
        let oc = try CLIPCheckpoint.open(dir + "/open_clip", config: nil)
        #expect(oc.description.hasSuffix("activation QuickGELU (from open_clip_config.json quick_gelu)"))
        // A bare file read with a GELU preset that has a QuickGELU twin says which weights need the twin.
        let preset = CLIPCheckpoint(file: "w.safetensors", layout: .openCLIP, container: "safetensors",
                                    config: CLIPConfig.presets["ViT-B-32"]!, configSource: .preset("ViT-B-32"), tensors: oc.tensors)
        #expect(preset.description.hasSuffix(
            "ViT: 224 px, patch 32, 12×768 (12 heads); text: 12×512 (8 heads), context 77, vocab 49408; embed 512; activation GELU (from preset ViT-B-32; OpenAI and MetaCLIP weights need ViT-B-32-quickgelu)"))
    }

    @Test func presetsMatchOpenCLIPsModelConfigs() throws {
        let json = try JSONValue.read(Self.folder() + "/presets.json")
        let configs = try #require(json["model_configs"]?.members)
        #expect(configs.count == 7)
        for m in configs {
            let cfg = try JSONDecoder().decode(CLIPConfig.self, from: JSONEncoder().encode(m.value))
            #expect(CLIPConfig.presets[m.key] == cfg, "\(m.key)")
        }
    }

    /// The same weights in PyTorch's own files: open_clip's hub layout with
    /// open_clip_pytorch_model.bin, an open_clip training checkpoint (epoch_3.pt: `module.` keys
    /// under `state_dict`, AdamW state beside them, no config) and transformers' pytorch_model.bin.
    @Test func importsPyTorchFiles() throws {
        let dir = try Self.folder()
        let (bin, ckpt) = try CLIPModel.open(checkpoint: dir + "/open_clip_bin", config: nil)
        #expect(ckpt.layout == .openCLIP && ckpt.container == "PyTorch")
        try expectFeatures(bin, "open_clip")
        // A training checkpoint carries no config: without --config it is refused, with one it loads.
        #expect(throws: CLIPCheckpointError.needsConfig(dir + "/epoch_3.pt")) {
            try CLIPCheckpoint.open(dir + "/epoch_3.pt", config: nil)
        }
        let epoch = try CLIPModel.load(checkpoint: dir + "/epoch_3.pt", config: dir + "/open_clip/open_clip_config.json")
        try expectFeatures(epoch, "open_clip")
        let (hf, hfCkpt) = try CLIPModel.open(checkpoint: dir + "/hf_quickgelu_bin", config: nil)
        #expect(hfCkpt.layout == .huggingFace && hfCkpt.container == "PyTorch" && hfCkpt.file.hasSuffix("/pytorch_model.bin"))
        #expect(hf.config.quickGELU)
        try expectFeatures(hf, "hf_quickgelu")
    }

    @Test func unknownFormatsListTheKnownOnes() throws {
        let tmp = try TempDirectory()
        try Data("not weights".utf8).write(to: URL(fileURLWithPath: tmp.file("weights.npz")))
        #expect { try CLIPCheckpoint.open(tmp.file("weights.npz"), config: "tiny") } throws: { e in
            guard case CLIPCheckpointError.unknownFormat(let p, _) = e else { return false }
            return p == tmp.file("weights.npz") && "\(e)".contains("known formats: a .safetensors file")
        }
        // Safetensors whose names are no CLIP's.
        var w = SafeTensorsWriter()
        w.add("encoder.weight", [Float](repeating: 0, count: 4), shape: [2, 2])
        try w.write(to: tmp.file("other.safetensors"))
        #expect { try CLIPCheckpoint.open(tmp.file("other.safetensors"), config: "tiny") } throws: { e in
            "\(e)".contains("neither open_clip's nor transformers' CLIP names (first: encoder.weight)")
        }
        // PyTorch files go to the PyTorch reader, whose errors name the file and the problem.
        try Data([0x50, 0x4B, 0x03, 0x04]).write(to: URL(fileURLWithPath: tmp.file("epoch_3.pt")))
        #expect { try CLIPCheckpoint.open(tmp.file("epoch_3.pt"), config: "tiny") } throws: { e in
            e is TorchCheckpointError && "\(e)".hasPrefix(tmp.file("epoch_3.pt")) && "\(e)".contains("zip")
        }
        // A file without a config needs --config.
        let model = try CLIPModel.load(checkpoint: Self.folder() + "/hf_gelu", config: nil)
        try model.saveHuggingFaceFolder(tmp.file("hf"))
        try FileManager.default.removeItem(atPath: tmp.file("hf/config.json"))
        #expect(throws: CLIPCheckpointError.needsConfig(tmp.file("hf/model.safetensors"))) {
            try CLIPCheckpoint.open(tmp.file("hf"), config: nil)
        }
        // …and with it, the transformers names are read.
        let again = try CLIPModel.load(checkpoint: tmp.file("hf"), config: Self.folder() + "/hf_gelu/config.json")
        try expectFeatures(again, "hf_gelu")
    }

    @Test func missingAndUnexpectedTensorsAreAllListedAndShapesNamed() throws {
        let dir = try Self.folder()
        let source = try SafeTensorsFile(path: dir + "/hf_quickgelu/model.safetensors")
        let tmp = try TempDirectory()
        func copy(_ to: String, drop: Set<String> = [], extra: [String] = [], reshape: String? = nil) throws -> String {
            var w = SafeTensorsWriter()
            for n in source.names where !drop.contains(n) {
                let t = try source.floatTensor(n)
                w.add(n, t.data, shape: n == reshape ? [1, t.count] : t.shape)
            }
            for n in extra { w.add(n, [Float](repeating: 0, count: 2), shape: [2]) }
            try FileManager.default.createDirectory(atPath: tmp.file(to), withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: dir + "/hf_quickgelu/config.json", toPath: tmp.file(to + "/config.json"))
            try w.write(to: tmp.file(to + "/model.safetensors"))
            return tmp.file(to)
        }
        let broken = try copy("broken", drop: ["text_projection.weight", "vision_model.encoder.layers.1.self_attn.k_proj.bias"],
                              extra: ["vision_model.head.weight", "text_model.pooler.bias"])
        #expect(throws: CheckpointError.tensorNames(
            file: broken + "/model.safetensors", missing: ["visual.transformer.resblocks.1.attn.in_proj_bias", "text_projection"],
            unexpected: ["vision_model.encoder.layers.1.self_attn.q_proj.bias", "vision_model.encoder.layers.1.self_attn.v_proj.bias",
                         "vision_model.head.weight", "text_model.pooler.bias"])) {
            try CLIPModel.load(checkpoint: broken, config: nil)
        }
        let reshaped = try copy("reshaped", reshape: "text_model.final_layer_norm.weight")
        #expect {
            try CLIPModel.load(checkpoint: reshaped, config: nil)
        } throws: { e in
            "\(e)" == "\(reshaped)/model.safetensors: tensor ln_final.weight has shape [1, 24], the model expects [24]"
        }
    }

    @Test func refusesActivationsItCannotRun() throws {
        func clip(_ json: String) throws -> CLIPConfig {
            try JSONDecoder().decode(HuggingFaceCLIPConfig.self, from: Data(json.utf8)).clipConfig()
        }
        #expect(throws: CLIPConfigError.unsupported("text_config.hidden_act = \"gelu_new\" (only \"quick_gelu\" and \"gelu\" are supported)")) {
            try clip(#"{"model_type": "clip", "text_config": {"hidden_act": "gelu_new"}, "vision_config": {"hidden_act": "gelu_new"}}"#)
        }
        #expect(throws: CLIPConfigError.unsupported("text_config.hidden_act \"gelu\" with vision_config.hidden_act \"quick_gelu\" (both towers must use one activation)")) {
            try clip(#"{"model_type": "clip", "text_config": {"hidden_act": "gelu"}}"#)
        }
        // transformers' defaults are openai/clip-vit-base-patch32's shape.
        var b32 = try clip(#"{"model_type": "clip"}"#)
        b32.initLogitScale = CLIPConfig.presets["ViT-B-32-quickgelu"]!.initLogitScale
        #expect(b32 == CLIPConfig.presets["ViT-B-32-quickgelu"])
    }
}
