import Foundation
import MoDENN
import MoDETensor
import MoDEFormats

/// Loading CLIP weights from any checkpoint `CLIPCheckpoint.open` reads, and writing them in
/// open_clip's layout: a safetensors file whose tensor names are `CLIP.state_dict()` keys (what
/// `safetensors.torch.save_file(model.state_dict(), …)` writes and
/// `model.load_state_dict(safetensors.torch.load_file(…))` reads), beside an
/// `open_clip_config.json` (`{"model_cfg": …}`) as on the Hugging Face hub. (transformers'
/// layout: `saveHuggingFaceFolder`.)
extension CLIPModel {
    /// The model-file name of open_clip's hub layout.
    public static let openCLIPModelFile = "open_clip_model.safetensors"
    /// The config-file name of open_clip's hub layout.
    public static let openCLIPConfigFile = "open_clip_config.json"

    /// The model file `path` names: the path itself when it is a file, else the folder's
    /// weights — `model.safetensors` (a checkpoint folder or a transformers folder),
    /// `open_clip_model.safetensors` (open_clip's hub layout), then their PyTorch twins
    /// `pytorch_model.bin` and `open_clip_pytorch_model.bin`.
    public static func modelFile(_ path: String) throws -> String {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw CheckpointError.notFound(path) }
        if !isDir.boolValue { return path }
        for name in ["model.safetensors", openCLIPModelFile, "pytorch_model.bin", "open_clip_pytorch_model.bin"] {
            let file = (path as NSString).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: file) { return file }
        }
        throw CheckpointError.notFound(path)
    }

    /// The model a user names, in any format `CLIPCheckpoint.open` reads: `config` is a preset
    /// name or JSON file, or nil to read the config file beside the weights. `gradients` false
    /// (the default here: loading is for inference) skips the gradient buffer.
    public static func load(checkpoint: String, config: String?, gradients: Bool = false) throws -> CLIPModel {
        try open(checkpoint: checkpoint, config: config, gradients: gradients).model
    }

    /// `load(checkpoint:config:gradients:)`, also returning what was opened (its `description`
    /// says which architecture was built and where the activation came from).
    public static func open(checkpoint: String, config: String?, gradients: Bool = false) throws -> (model: CLIPModel, checkpoint: CLIPCheckpoint) {
        let ckpt = try CLIPCheckpoint.open(checkpoint, config: config)
        let model = CLIPModel(config: ckpt.config, gradients: gradients)
        try model.arena.read(from: ckpt.tensors)
        return (model, ckpt)
    }

    /// Reads every parameter of this model from the checkpoint `path` names, in any format
    /// `CLIPCheckpoint.open` reads (a file without a config beside it is read with this model's
    /// config). Throws `CLIPCheckpointError.configMismatch` when the checkpoint's config
    /// describes another architecture (shapes or activation; the initial logit scale aside).
    @discardableResult
    public func load(checkpoint path: String) throws -> CLIPCheckpoint {
        let ckpt = try CLIPCheckpoint.open(path, config: nil, fallback: config)
        var theirs = ckpt.config
        theirs.initLogitScale = config.initLogitScale
        guard theirs == config else {
            let act = { (c: CLIPConfig) in c.quickGELU ? "QuickGELU" : "GELU" }
            throw CLIPCheckpointError.configMismatch(file: ckpt.file, checkpoint: "\(theirs.architectureSummary), \(act(theirs))",
                                                     model: "\(config.architectureSummary), \(act(config))")
        }
        try arena.read(from: ckpt.tensors)
        return ckpt
    }

    /// Reads every parameter from the safetensors state_dict at `path` (open_clip names, or
    /// transformers names). Strict: missing or unexpected tensors or a shape mismatch are a
    /// `CheckpointError` naming the file and the tensors. F16, BF16 and F64 tensors are
    /// converted. Keys under DistributedDataParallel's `module.` prefix are accepted.
    public func load(safetensors path: String) throws {
        try load(checkpoint: path)
    }

    /// Writes the parameters to `path` as an open_clip state_dict in safetensors (F32).
    public func save(to path: String, metadata: [String: String] = [:]) throws {
        var w = SafeTensorsWriter()
        arena.write(to: &w)
        try w.write(to: path, metadata: metadata.merging(["format": "pt"]) { a, _ in a })
    }

    /// Writes open_clip's hub layout into folder `directory` (created if needed):
    /// `open_clip_model.safetensors` and `open_clip_config.json` with the model config and
    /// CLIP's preprocessing (OpenAI mean and std, bicubic resize).
    public func saveOpenCLIPFolder(_ directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try save(to: (directory as NSString).appendingPathComponent(Self.openCLIPModelFile))
        let json = try OpenCLIPConfigFile(model: config).data()
        try AtomicFile.write(json, to: (directory as NSString).appendingPathComponent(Self.openCLIPConfigFile))
    }
}
