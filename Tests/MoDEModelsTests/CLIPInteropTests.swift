import Foundation
import MoDEModels
import MoDENN
import MoDETensor
import TestSupport
import Testing
import MoDEFormats

/// open_clip checkpoints in and out, from tools/clip_interop.py's folder (an open_clip model
/// with its own initialisation, saved as open_clip's hub layout, and its features in float64).
@Suite struct CLIPInteropTests {
    static func folder() throws -> String {
        // The folder holds io.safetensors; locate it through that file.
        let io = try fixture("interop/io")
        return (io.path as NSString).deletingLastPathComponent
    }

    @Test func loadsAnOpenCLIPFolderAndEncodesLikeOpenCLIP() throws {
        let dir = try Self.folder()
        let model = try CLIPModel.load(checkpoint: dir, config: nil)
        #expect(model.config.quickGELU && model.config.vision.layers == 2)
        let io = try SafeTensorsFile(path: dir + "/io.safetensors")
        let images = try io.tensor("images"), texts = try io.int32s("texts")
        let b = images.shape[0], e = model.embedDim
        let img = Tensor(shape: [b, e]), txt = Tensor(shape: [b, e])
        model.encodeImage(img.data, images.data, batch: b)
        texts.withUnsafeBufferPointer { model.encodeText(txt.data, $0.baseAddress!, batch: b) }
        // float32 against float64 from the same weights, two 16-wide blocks: rel 1e-5.
        expectClose(img, try io.tensor("image_features"), relTol: 1e-5, "image features")
        expectClose(txt, try io.tensor("text_features"), relTol: 1e-5, "text features")
    }

    @Test func savesOpenCLIPsNamesShapesAndDTypesAndReadsThemBack() throws {
        let dir = try Self.folder()
        let theirs = try SafeTensorsFile(path: dir + "/" + CLIPModel.openCLIPModelFile)
        let model = CLIPModel(config: try CLIPConfig.load(dir + "/" + CLIPModel.openCLIPConfigFile), seed: 3)
        let tmp = try TempDirectory()
        try model.saveOpenCLIPFolder(tmp.path)
        let ours = try SafeTensorsFile(path: tmp.file(CLIPModel.openCLIPModelFile))
        #expect(Set(ours.names) == Set(theirs.names))
        for name in theirs.names {
            #expect(ours.info(name)?.shape == theirs.info(name)?.shape, "\(name)")
            #expect(ours.info(name)?.dtype == .f32 && theirs.info(name)?.dtype == .f32, "\(name)")
        }
        #expect(ours.info("logit_scale")?.shape == [])
        let back = try CLIPModel.load(checkpoint: tmp.path, config: nil)
        #expect(back.config == model.config)
        #expect(back.arena.values.array == model.arena.values.array)
    }

    @Test func strictLoadingNamesTheFileAndTensor() throws {
        let dir = try Self.folder()
        let source = try SafeTensorsFile(path: dir + "/" + CLIPModel.openCLIPModelFile)
        let config = try CLIPConfig.load(dir + "/" + CLIPModel.openCLIPConfigFile)
        let tmp = try TempDirectory()
        /// Writes the fixture's tensors, renamed / reshaped / dropped / added by `edit`.
        func variant(_ file: String, prefix: String = "", _ edit: (String, Tensor) -> (String, Tensor)?,
                     extra: (String, Tensor)? = nil) throws -> String {
            var w = SafeTensorsWriter()
            for name in source.names {
                if let (n, t) = edit(name, try source.tensor(name)) { w.add(prefix + n, t) }
            }
            if let extra { w.add(extra.0, extra.1) }
            try w.write(to: tmp.file(file))
            return tmp.file(file)
        }
        func expectError(_ path: String, _ expected: CheckpointError, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(throws: expected, sourceLocation: sourceLocation) { try CLIPModel(config: config).load(safetensors: path) }
        }
        let missing = try variant("missing.safetensors") { $0 == "visual.proj" ? nil : ($0, $1) }
        expectError(missing, .missingTensor(file: missing, name: "visual.proj"))
        let extra = try variant("extra.safetensors", { ($0, $1) }, extra: ("visual.attn_pool.query", Tensor(shape: [2])))
        expectError(extra, .unexpectedTensor(file: extra, name: "visual.attn_pool.query"))
        let reshaped = try variant("shape.safetensors") { n, t in
            (n, n == "positional_embedding" ? t.reshaped([16, 8]) : t)
        }
        expectError(reshaped, .shapeMismatch(file: reshaped, name: "positional_embedding", expected: [8, 16], found: [16, 8]))
        // DistributedDataParallel's `module.` prefix is accepted.
        let ddp = try variant("ddp.safetensors", prefix: "module.") { ($0, $1) }
        let model = CLIPModel(config: config)
        try model.load(safetensors: ddp)
        let plain = CLIPModel(config: config)
        try plain.load(safetensors: dir + "/" + CLIPModel.openCLIPModelFile)
        #expect(model.arena.values.array == plain.arena.values.array)
    }
}
