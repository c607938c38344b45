import Foundation
import MoDEFormats

/// A CLIP model's shape in open_clip's model-config JSON schema (`embed_dim`, `vision_cfg`,
/// `text_cfg`, `quick_gelu`). Fields this implementation does not support are rejected when
/// decoding, with the field named, rather than silently ignored.
public struct CLIPConfig: Codable, Sendable, Equatable {
    public var embedDim: Int
    public var vision: VisionConfig
    public var text: TextConfig
    public var quickGELU: Bool
    /// Initial value of the learned logit scale (open_clip: ln(1/0.07)).
    public var initLogitScale: Double

    public struct VisionConfig: Codable, Sendable, Equatable {
        public var imageSize: Int
        public var patchSize: Int
        public var width: Int
        public var layers: Int
        public var headWidth: Int
        public var mlpRatio: Double

        public var heads: Int { width / headWidth }
        public var gridSize: Int { imageSize / patchSize }
        /// Patch tokens plus the class token.
        public var tokens: Int { gridSize * gridSize + 1 }
        public var mlpWidth: Int { Int(Double(width) * mlpRatio) }

        enum CodingKeys: String, CodingKey {
            case imageSize = "image_size", patchSize = "patch_size", width, layers
            case headWidth = "head_width", mlpRatio = "mlp_ratio"
        }

        public init(imageSize: Int, patchSize: Int, width: Int, layers: Int, headWidth: Int = 64, mlpRatio: Double = 4) {
            self.imageSize = imageSize
            self.patchSize = patchSize
            self.width = width
            self.layers = layers
            self.headWidth = headWidth
            self.mlpRatio = mlpRatio
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            try CLIPConfig.rejectUnsupported(decoder, section: "vision_cfg", free: ["image_size", "patch_size", "width", "layers", "head_width", "mlp_ratio"], defaults: ["ls_init_value": nil, "patch_dropout": 0, "attentional_pool": false, "pool_type": "tok", "final_ln_after_pool": false, "no_ln_pre": false, "output_tokens": false])
            if (try? c.decode([Int].self, forKey: .layers)) != nil {
                throw CLIPConfigError.unsupported("vision_cfg.layers as a list (ResNet towers are not supported)")
            }
            self.init(
                imageSize: try c.decodeIfPresent(Int.self, forKey: .imageSize) ?? 224,
                patchSize: try c.decodeIfPresent(Int.self, forKey: .patchSize) ?? 16,
                width: try c.decodeIfPresent(Int.self, forKey: .width) ?? 768,
                layers: try c.decodeIfPresent(Int.self, forKey: .layers) ?? 12,
                headWidth: try c.decodeIfPresent(Int.self, forKey: .headWidth) ?? 64,
                mlpRatio: try c.decodeIfPresent(Double.self, forKey: .mlpRatio) ?? 4)
        }
    }

    public struct TextConfig: Codable, Sendable, Equatable {
        public var contextLength: Int
        public var vocabSize: Int
        public var width: Int
        public var heads: Int
        public var layers: Int
        public var mlpRatio: Double

        public var mlpWidth: Int { Int(Double(width) * mlpRatio) }

        enum CodingKeys: String, CodingKey {
            case contextLength = "context_length", vocabSize = "vocab_size", width, heads, layers
            case mlpRatio = "mlp_ratio"
        }

        public init(contextLength: Int = 77, vocabSize: Int = 49408, width: Int = 512, heads: Int = 8, layers: Int = 12, mlpRatio: Double = 4) {
            self.contextLength = contextLength
            self.vocabSize = vocabSize
            self.width = width
            self.heads = heads
            self.layers = layers
            self.mlpRatio = mlpRatio
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            try CLIPConfig.rejectUnsupported(decoder, section: "text_cfg", free: ["context_length", "vocab_size", "width", "heads", "layers", "mlp_ratio"], defaults: ["ls_init_value": nil, "embed_cls": false, "pad_id": 0, "no_causal_mask": false, "final_ln_after_pool": false, "pool_type": "argmax", "proj_bias": false, "proj_type": "linear", "output_tokens": false, "hf_tokenizer_name": nil, "tokenizer_kwargs": nil])
            self.init(
                contextLength: try c.decodeIfPresent(Int.self, forKey: .contextLength) ?? 77,
                vocabSize: try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? 49408,
                width: try c.decodeIfPresent(Int.self, forKey: .width) ?? 512,
                heads: try c.decodeIfPresent(Int.self, forKey: .heads) ?? 8,
                layers: try c.decodeIfPresent(Int.self, forKey: .layers) ?? 12,
                mlpRatio: try c.decodeIfPresent(Double.self, forKey: .mlpRatio) ?? 4)
        }
    }

    enum CodingKeys: String, CodingKey {
        case embedDim = "embed_dim", vision = "vision_cfg", text = "text_cfg", quickGELU = "quick_gelu"
        case initLogitScale = "init_logit_scale"
    }

    public init(embedDim: Int, vision: VisionConfig, text: TextConfig, quickGELU: Bool = false,
                initLogitScale: Double = log(1 / 0.07)) {
        self.embedDim = embedDim
        self.vision = vision
        self.text = text
        self.quickGELU = quickGELU
        self.initLogitScale = initLogitScale
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try CLIPConfig.rejectUnsupported(decoder, section: "model config", free: ["embed_dim", "vision_cfg", "text_cfg", "quick_gelu", "init_logit_scale"], defaults: ["cast_dtype": nil, "init_logit_bias": nil, "custom_text": false])
        guard let embedDim = try c.decodeIfPresent(Int.self, forKey: .embedDim) else {
            throw CLIPConfigError.missing("embed_dim")
        }
        guard c.contains(.vision) else { throw CLIPConfigError.missing("vision_cfg") }
        guard c.contains(.text) else { throw CLIPConfigError.missing("text_cfg") }
        self.init(
            embedDim: embedDim,
            vision: try c.decode(VisionConfig.self, forKey: .vision),
            text: try c.decode(TextConfig.self, forKey: .text),
            quickGELU: try c.decodeIfPresent(Bool.self, forKey: .quickGELU) ?? false,
            initLogitScale: try c.decodeIfPresent(Double.self, forKey: .initLogitScale) ?? log(1 / 0.07))
        try validate()
    }

    /// Checks that the shapes are consistent (positive sizes, divisibility).
    public func validate() throws {
        func need(_ ok: Bool, _ what: String) throws { if !ok { throw CLIPConfigError.invalid(what) } }
        try need(embedDim > 0, "embed_dim must be positive")
        try need(vision.imageSize > 0 && vision.patchSize > 0 && vision.imageSize % vision.patchSize == 0,
                 "vision_cfg.image_size (\(vision.imageSize)) must be a positive multiple of patch_size (\(vision.patchSize))")
        try need(vision.width > 0 && vision.headWidth > 0 && vision.width % vision.headWidth == 0,
                 "vision_cfg.width (\(vision.width)) must be a positive multiple of head_width (\(vision.headWidth))")
        try need(vision.layers > 0 && text.layers > 0, "layers must be positive")
        try need(text.width > 0 && text.heads > 0 && text.width % text.heads == 0,
                 "text_cfg.width (\(text.width)) must be a positive multiple of heads (\(text.heads))")
        try need(text.contextLength > 1 && text.vocabSize > 2, "text_cfg.context_length and vocab_size too small")
        try need(vision.mlpRatio > 0 && text.mlpRatio > 0, "mlp_ratio must be positive")
    }

    /// Rejects keys of a section that would change the architecture: `free` keys take any value;
    /// `defaults` keys are accepted only with their default value (null for `.null`).
    fileprivate static func rejectUnsupported(_ decoder: Decoder, section: String, free: Set<String>,
                                              defaults: [String: JSONValue]) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        for key in c.allKeys where !free.contains(key.stringValue) {
            let k = key.stringValue
            guard let expected = defaults[k] else { throw CLIPConfigError.unsupported("\(section).\(k)") }
            let value = try c.decode(JSONValue.self, forKey: key)
            if value != expected {
                throw CLIPConfigError.unsupported("\(section).\(k) = \(value) (only \(expected) is supported)")
            }
        }
    }
}

/// A config problem, naming the field.
public enum CLIPConfigError: Error, CustomStringConvertible, Equatable {
    case missing(String), unsupported(String), invalid(String), unknownPreset(String), unreadable(String, String)

    public var description: String {
        switch self {
        case .missing(let f): return "model config: missing required field \(f)"
        case .unsupported(let f): return "model config: unsupported setting \(f)"
        case .invalid(let w): return "model config: \(w)"
        case .unknownPreset(let n): return "unknown model config \(n); presets: \(CLIPConfig.presetNames.joined(separator: ", ")), or a path to an open_clip JSON config or a transformers CLIP config.json"
        case .unreadable(let path, let why): return "\(path): cannot read model config: \(why)"
        }
    }
}
