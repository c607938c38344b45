import Foundation
import MoDENN
import MoDEFormats

/// A CLIP checkpoint opened for reading, whatever its layout: the model config, where that
/// config came from, and the tensors under open_clip's names (a view when the file uses
/// transformers' names). `open` is the one entry point every command that takes a checkpoint
/// goes through (via `CLIPModel.load(checkpoint:config:)`).
public struct CLIPCheckpoint {
    /// The tensor-name layout of the file.
    public enum Layout: String, Sendable, Codable {
        /// open_clip's `CLIP.state_dict()` names (also this project's own checkpoints).
        case openCLIP = "open_clip"
        /// transformers' `CLIPModel` names.
        case huggingFace = "hf"
    }

    /// Where the model config came from.
    public enum ConfigSource: Sendable, Equatable {
        /// A preset named with --config.
        case preset(String)
        /// An open_clip JSON config (`open_clip_config.json` or a model config).
        case openCLIPFile(String)
        /// A transformers `config.json`.
        case huggingFaceFile(String)
        /// The config of the model the weights are read into (a file without a config of its own).
        case model
    }

    /// The weights file.
    public let file: String
    public let layout: Layout
    /// "safetensors" or "PyTorch".
    public let container: String
    public let config: CLIPConfig
    public let configSource: ConfigSource
    /// The tensors under open_clip's names.
    public let tensors: any TensorStore

    /// The formats `open` reads, for messages.
    public static let knownFormats = """
        a .safetensors file with open_clip or transformers CLIP tensor names; \
        an open_clip hub folder (open_clip_config.json with open_clip_model.safetensors or open_clip_pytorch_model.bin); \
        a transformers CLIP folder (config.json of model_type "clip" with model.safetensors or pytorch_model.bin); \
        a PyTorch .pt/.bin file (open_clip's epoch_N.pt, a state dict); \
        a checkpoint folder (model.safetensors) or a run folder (its latest checkpoint)
        """

    /// Opens the checkpoint `path` names (see `knownFormats`; run folders are resolved by the
    /// caller). `config` is a preset name or a JSON file (open_clip's or transformers'), or nil
    /// to read the config file beside the weights (`config.json` first for transformers names,
    /// `open_clip_config.json` first for open_clip names), else `fallback` when given.
    public static func open(_ path: String, config: String?, fallback: CLIPConfig? = nil) throws -> CLIPCheckpoint {
        let file = try CLIPModel.modelFile(path)
        let (raw, container) = try openTensors(file)
        var names = raw.names
        var store: any TensorStore = raw
        // DistributedDataParallel's `module.` prefix
        if !names.isEmpty && names.allSatisfy({ $0.hasPrefix("module.") }) {
            store = try TensorStoreView(base: raw, strippingPrefix: "module.")
            names = store.names
        }
        let layout: Layout
        if HuggingFaceCLIPNames.matches(names) {
            layout = .huggingFace
            store = try HuggingFaceCLIPNames.openCLIPView(of: store)
        } else if names.contains("logit_scale") || names.contains("token_embedding.weight") || names.contains(where: { $0.hasPrefix("visual.") }) {
            layout = .openCLIP
        } else {
            let sample = names.prefix(5).joined(separator: ", ")
            throw CLIPCheckpointError.unknownFormat(file, "the tensor names are neither open_clip's nor transformers' CLIP names (first: \(sample.isEmpty ? "none" : sample))")
        }
        let (cfg, source): (CLIPConfig, ConfigSource)
        do { (cfg, source) = try resolveConfig(config, beside: file, layout: layout) } catch CLIPCheckpointError.needsConfig(let f) {
            guard let fallback else { throw CLIPCheckpointError.needsConfig(f) }
            (cfg, source) = (fallback, .model)
        }
        return CLIPCheckpoint(file: file, layout: layout, container: container, config: cfg, configSource: source, tensors: store)
    }

    /// What was opened and the architecture built from it, on one line, e.g. "transformers CLIP
    /// (safetensors) m/model.safetensors: ViT: 224 px, patch 16, 12×768 (12 heads); …;
    /// activation QuickGELU (from config.json hidden_act)".
    public var description: String {
        let kind = layout == .huggingFace ? "transformers CLIP" : "open_clip"
        return "\(kind) (\(container)) \(file): \(config.architectureSummary); activation \(config.quickGELU ? "QuickGELU" : "GELU") (\(activationSource))"
    }

    /// Where the activation choice came from, and for a GELU preset with a QuickGELU twin, which
    /// weights need the twin.
    public var activationSource: String {
        switch configSource {
        case .huggingFaceFile(let p): return "from \(FilePaths.lastComponent(p)) hidden_act"
        case .openCLIPFile(let p): return "from \(FilePaths.lastComponent(p)) quick_gelu"
        case .model: return "from the model's config"
        case .preset(let name):
            let twin = name + "-quickgelu"
            if !config.quickGELU, CLIPConfig.presets[twin] != nil {
                return "from preset \(name); OpenAI and MetaCLIP weights need \(twin)"
            }
            return "from preset \(name)"
        }
    }

    /// The tensors of `file`: safetensors, or a PyTorch zip checkpoint.
    static func openTensors(_ file: String) throws -> (any TensorStore, String) {
        let ext = (file as NSString).pathExtension.lowercased()
        let head = [UInt8]((FileHandle(forReadingAtPath: file)?.readData(ofLength: 9)) ?? Data())
        if ["pt", "pth", "bin", "ckpt"].contains(ext) || head.starts(with: [0x50, 0x4B, 0x03, 0x04]) {
            return (try openTorchCheckpoint(file), "PyTorch")
        }
        if ext == "safetensors" || (head.count == 9 && head[8] == UInt8(ascii: "{")) {
            return (try SafeTensorsFile(path: file), "safetensors")
        }
        throw CLIPCheckpointError.unknownFormat(file, "neither safetensors nor a PyTorch zip checkpoint")
    }

    /// Opens a PyTorch zip checkpoint (`torch.save`: a state dict, or a training checkpoint
    /// holding one under `state_dict`, DistributedDataParallel's `module.` prefix removed) as a
    /// tensor store, through the restricted unpickler of `TorchCheckpointFile`.
    static func openTorchCheckpoint(_ file: String) throws -> any TensorStore {
        try TorchCheckpointFile(path: file)
    }

    /// The config `config` names, or the one beside `file`.
    static func resolveConfig(_ config: String?, beside file: String, layout: Layout) throws -> (CLIPConfig, ConfigSource) {
        if let config {
            if CLIPConfig.presets[config] != nil { return (try CLIPConfig.load(config), .preset(config)) }
            let cfg = try CLIPConfig.load(config)
            let hf = (try? JSONValue.read(config)).map(HuggingFaceCLIPConfig.describesCLIP) ?? false
            return (cfg, hf ? .huggingFaceFile(config) : .openCLIPFile(config))
        }
        let folder = FilePaths.parent(file)
        let openCLIP = (folder as NSString).appendingPathComponent(CLIPModel.openCLIPConfigFile)
        let hf = (folder as NSString).appendingPathComponent(HuggingFaceCLIPNames.configFile)
        let fm = FileManager.default
        let hfIsCLIP = fm.fileExists(atPath: hf) && ((try? JSONValue.read(hf)).map(HuggingFaceCLIPConfig.describesCLIP) ?? false)
        let order: [ConfigSource] = layout == .huggingFace ? [.huggingFaceFile(hf), .openCLIPFile(openCLIP)] : [.openCLIPFile(openCLIP), .huggingFaceFile(hf)]
        for source in order {
            switch source {
            case .openCLIPFile(let p) where fm.fileExists(atPath: p): return (try CLIPConfig.load(p), source)
            case .huggingFaceFile(let p) where hfIsCLIP:
                do { return (try HuggingFaceCLIPConfig.read(p).clipConfig(), source) } catch let e as CLIPConfigError {
                    if case .unreadable = e { throw e }
                    throw CLIPConfigError.unreadable(p, e.description)
                }
            default: continue
            }
        }
        throw CLIPCheckpointError.needsConfig(file)
    }
}

/// A checkpoint that cannot be opened, naming the file.
public enum CLIPCheckpointError: Error, CustomStringConvertible, Equatable {
    case unknownFormat(String, String)
    case needsConfig(String)
    case configMismatch(file: String, checkpoint: String, model: String)

    public var description: String {
        switch self {
        case let .unknownFormat(p, why): return "\(p): unknown checkpoint format (\(why)); known formats: \(CLIPCheckpoint.knownFormats)"
        case .needsConfig(let p):
            return "\(p): the checkpoint carries no model config (no \(CLIPModel.openCLIPConfigFile) or transformers config.json beside it); name one with --config (a preset: \(CLIPConfig.presetNames.joined(separator: ", ")), or a JSON file)"
        case let .configMismatch(f, c, m): return "\(f): the checkpoint is \(c), but the model is \(m)"
        }
    }
}

extension CLIPConfig {
    /// The architecture on one line: "ViT: 224 px, patch 16, 12×768 (12 heads); text: 12×512
    /// (8 heads), context 77, vocab 49408; embed 512".
    public var architectureSummary: String {
        "ViT: \(vision.imageSize) px, patch \(vision.patchSize), \(vision.layers)×\(vision.width) (\(vision.heads) heads); "
            + "text: \(text.layers)×\(text.width) (\(text.heads) heads), context \(text.contextLength), vocab \(text.vocabSize); embed \(embedDim)"
    }
}
