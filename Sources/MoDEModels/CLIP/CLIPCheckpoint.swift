import Foundation
import MoDENN
import MoDETensor
import MoDEFormats

/// Reading and writing CLIP weights in open_clip's layout: a safetensors file whose tensor names
/// are `CLIP.state_dict()` keys (what `safetensors.torch.save_file(model.state_dict(), …)`
/// writes and `model.load_state_dict(safetensors.torch.load_file(…))` reads), optionally beside
/// an `open_clip_config.json` (`{"model_cfg": …}`) as on the Hugging Face hub.
extension CLIPModel {
    /// The model-file name of open_clip's hub layout.
    public static let openCLIPModelFile = "open_clip_model.safetensors"
    /// The config-file name of open_clip's hub layout.
    public static let openCLIPConfigFile = "open_clip_config.json"

    /// Reads every parameter from the safetensors state_dict at `path`. Strict: a missing or
    /// unexpected tensor or a shape mismatch is a `CheckpointError` naming the file and tensor.
    /// F16, BF16 and F64 tensors are converted. Keys under DistributedDataParallel's `module.`
    /// prefix are accepted.
    public func load(safetensors path: String) throws {
        let file = try SafeTensorsFile(path: path)
        let prefix = !file.contains("logit_scale") && file.contains("module.logit_scale") ? "module." : ""
        try arena.read(from: file, prefix: prefix)
    }

    /// The model file `path` names: the path itself when it is a file, else the folder's
    /// `model.safetensors` (a checkpoint folder) or `open_clip_model.safetensors` (open_clip's hub
    /// layout).
    public static func modelFile(_ path: String) throws -> String {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw CheckpointError.notFound(path) }
        if !isDir.boolValue { return path }
        for name in ["model.safetensors", openCLIPModelFile] {
            let file = (path as NSString).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: file) { return file }
        }
        throw CheckpointError.notFound(path)
    }

    /// The model a user names: `checkpoint` is a safetensors file, an open_clip hub folder or a
    /// checkpoint folder (see `modelFile`); `config` is a preset name or JSON file, or nil to read
    /// the `open_clip_config.json` beside the model file. `gradients` false (the default here:
    /// loading is for inference) skips the gradient buffer.
    public static func load(checkpoint: String, config: String?, gradients: Bool = false) throws -> CLIPModel {
        let file = try modelFile(checkpoint)
        let cfg: CLIPConfig
        if let config {
            cfg = try CLIPConfig.load(config)
        } else {
            let beside = (FilePaths.parent(file) as NSString).appendingPathComponent(openCLIPConfigFile)
            guard FileManager.default.fileExists(atPath: beside) else {
                throw CLIPConfigError.unreadable(file, "no \(openCLIPConfigFile) beside the model file; name the model config (a preset or JSON file)")
            }
            cfg = try CLIPConfig.load(beside)
        }
        let model = CLIPModel(config: cfg, gradients: gradients)
        try model.load(safetensors: file)
        return model
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
