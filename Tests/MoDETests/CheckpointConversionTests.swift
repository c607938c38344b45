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

/// `mode convert` as a user runs it, on the torch- and transformers-written fixtures of
/// tools/clip_checkpoint_fixtures.py: its JSON line, and the written folder read back encodes the
/// fixture inputs as the library that wrote the source did.
@Suite struct ConvertProcessTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("MoDEModelsTests/Fixtures/checkpoints").path

    func mode(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: TrainProcessTests.modeBinary)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        (p.standardOutput, p.standardError) = (out, err)
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// (source, --config, --format, what it is read as, the io.safetensors features it must give).
    static let cases: [(String, String?, String, String, String)] = [
        ("epoch_3.pt", "open_clip/open_clip_config.json", "hf", "open_clip (PyTorch)", "open_clip"),
        ("open_clip_bin", nil, "hf", "open_clip (PyTorch)", "open_clip"),
        ("hf_quickgelu_bin", nil, "open_clip", "transformers CLIP (PyTorch)", "hf_quickgelu"),
        ("hf_gelu", nil, "open_clip", "transformers CLIP (safetensors)", "hf_gelu"),
    ]

    @Test func convertsThroughTheExecutable() throws {
        let dir = try TempDirectory()
        let io = try SafeTensorsFile(path: Self.fixtures + "/io.safetensors")
        let images = try io.tensor("images"), texts = try io.int32s("texts")
        let b = images.shape[0]
        for (i, (source, config, format, from, reference)) in Self.cases.enumerated() {
            let out = dir.file("out\(i)")
            let r = try mode(["convert", "--checkpoint", Self.fixtures + "/" + source, "--to", out, "--format", format]
                             + (config.map { ["--config", Self.fixtures + "/" + $0] } ?? []))
            #expect(r.status == 0, "\(source): \(r.err.suffix(600))")
            let lines = r.out.split(separator: "\n")
            #expect(lines.count == 1, "\(source): \(r.out)")
            let summary = try JSONDecoder().decode(CheckpointConversion.Summary.self, from: Data((lines.first ?? "").utf8))
            #expect(summary.from == from && summary.format.rawValue == format && summary.out == out && summary.verified, "\(summary)")
            #expect(summary.activation == (reference == "hf_gelu" ? "GELU" : "QuickGELU"))
            #expect(r.err.contains("activation \(summary.activation) (from "), "\(r.err)")
            let files = format == "hf" ? ["config.json", "model.safetensors"] : ["open_clip_config.json", "open_clip_model.safetensors"]
            #expect(try FileManager.default.contentsOfDirectory(atPath: out).sorted() == files)

            let model = try CLIPModel.load(checkpoint: out, config: nil)
            #expect(summary.parameters == model.arena.parameterCount)
            let img = Tensor(shape: [b, model.embedDim]), txt = Tensor(shape: [b, model.embedDim])
            model.encodeImage(img.data, images.data, batch: b)
            texts.withUnsafeBufferPointer { model.encodeText(txt.data, $0.baseAddress!, batch: b) }
            expectClose(img, try io.tensor(reference + ".image_features"), relTol: 1e-5, "\(source) → \(format): image features")
            expectClose(txt, try io.tensor(reference + ".text_features"), relTol: 1e-5, "\(source) → \(format): text features")
        }
        // Errors: a non-zero exit, a message naming the problem, nothing written.
        let epoch = try mode(["convert", "--checkpoint", Self.fixtures + "/epoch_3.pt", "--to", dir.file("x"), "--format", "hf"])
        #expect(epoch.status != 0 && epoch.err.contains("epoch_3.pt: the checkpoint carries no model config"), "\(epoch.err)")
        let bad = try mode(["convert", "--checkpoint", Self.fixtures + "/open_clip", "--to", dir.file("y"), "--format", "onnx"])
        #expect(bad.status != 0 && bad.err.contains("--format must be one of: open_clip, hf"), "\(bad.err)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("x")) && !FileManager.default.fileExists(atPath: dir.file("y")))
    }
}
