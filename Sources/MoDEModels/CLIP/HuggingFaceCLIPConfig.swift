import Foundation
import MoDEFormats

/// The `config.json` of a Hugging Face transformers CLIP model (`CLIPConfig` with `text_config`
/// and `vision_config`). Decoding fills absent fields with transformers' defaults and ignores
/// fields that do not change the computation (dropout, initialiser ranges, ids other than eos);
/// `clipConfig()` refuses what this implementation cannot run, naming the field.
public struct HuggingFaceCLIPConfig: Codable, Sendable, Equatable {
    public var architectures: [String]
    public var modelType: String
    public var projectionDim: Int
    public var logitScaleInitValue: Double
    public var text: Text
    public var vision: Vision
    public var torchDtype: String

    /// `text_config` (transformers' `CLIPTextConfig`).
    public struct Text: Codable, Sendable, Equatable {
        public var modelType = "clip_text_model"
        public var vocabSize = 49408, hiddenSize = 512, intermediateSize = 2048
        public var numHiddenLayers = 12, numAttentionHeads = 8, maxPositionEmbeddings = 77
        public var projectionDim = 512
        public var hiddenAct = "quick_gelu"
        public var layerNormEps = 1e-5
        public var bosTokenId = 49406, eosTokenId = 49407, padTokenId = 1

        enum CodingKeys: String, CodingKey {
            case modelType = "model_type", vocabSize = "vocab_size", hiddenSize = "hidden_size"
            case intermediateSize = "intermediate_size", numHiddenLayers = "num_hidden_layers"
            case numAttentionHeads = "num_attention_heads", maxPositionEmbeddings = "max_position_embeddings"
            case projectionDim = "projection_dim", hiddenAct = "hidden_act", layerNormEps = "layer_norm_eps"
            case bosTokenId = "bos_token_id", eosTokenId = "eos_token_id", padTokenId = "pad_token_id"
        }

        public init() {}

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            func get<T: Decodable>(_ k: CodingKeys, _ d: T) throws -> T { try c.decodeIfPresent(T.self, forKey: k) ?? d }
            let d = Text()
            modelType = try get(.modelType, d.modelType)
            vocabSize = try get(.vocabSize, d.vocabSize); hiddenSize = try get(.hiddenSize, d.hiddenSize)
            intermediateSize = try get(.intermediateSize, d.intermediateSize)
            numHiddenLayers = try get(.numHiddenLayers, d.numHiddenLayers)
            numAttentionHeads = try get(.numAttentionHeads, d.numAttentionHeads)
            maxPositionEmbeddings = try get(.maxPositionEmbeddings, d.maxPositionEmbeddings)
            projectionDim = try get(.projectionDim, d.projectionDim)
            hiddenAct = try get(.hiddenAct, d.hiddenAct); layerNormEps = try get(.layerNormEps, d.layerNormEps)
            bosTokenId = try get(.bosTokenId, d.bosTokenId); eosTokenId = try get(.eosTokenId, d.eosTokenId)
            padTokenId = try get(.padTokenId, d.padTokenId)
        }
    }

    /// `vision_config` (transformers' `CLIPVisionConfig`).
    public struct Vision: Codable, Sendable, Equatable {
        public var modelType = "clip_vision_model"
        public var hiddenSize = 768, intermediateSize = 3072, numHiddenLayers = 12, numAttentionHeads = 12
        public var numChannels = 3, imageSize = 224, patchSize = 32
        public var projectionDim = 512
        public var hiddenAct = "quick_gelu"
        public var layerNormEps = 1e-5

        enum CodingKeys: String, CodingKey {
            case modelType = "model_type", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
            case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
            case numChannels = "num_channels", imageSize = "image_size", patchSize = "patch_size"
            case projectionDim = "projection_dim", hiddenAct = "hidden_act", layerNormEps = "layer_norm_eps"
        }

        public init() {}

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            func get<T: Decodable>(_ k: CodingKeys, _ d: T) throws -> T { try c.decodeIfPresent(T.self, forKey: k) ?? d }
            let d = Vision()
            modelType = try get(.modelType, d.modelType)
            hiddenSize = try get(.hiddenSize, d.hiddenSize); intermediateSize = try get(.intermediateSize, d.intermediateSize)
            numHiddenLayers = try get(.numHiddenLayers, d.numHiddenLayers)
            numAttentionHeads = try get(.numAttentionHeads, d.numAttentionHeads)
            numChannels = try get(.numChannels, d.numChannels); imageSize = try get(.imageSize, d.imageSize)
            patchSize = try get(.patchSize, d.patchSize); projectionDim = try get(.projectionDim, d.projectionDim)
            hiddenAct = try get(.hiddenAct, d.hiddenAct); layerNormEps = try get(.layerNormEps, d.layerNormEps)
        }
    }

    enum CodingKeys: String, CodingKey {
        case architectures, modelType = "model_type", projectionDim = "projection_dim"
        case logitScaleInitValue = "logit_scale_init_value", text = "text_config", vision = "vision_config"
        case torchDtype = "torch_dtype"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        architectures = try c.decodeIfPresent([String].self, forKey: .architectures) ?? []
        modelType = try c.decodeIfPresent(String.self, forKey: .modelType) ?? ""
        projectionDim = try c.decodeIfPresent(Int.self, forKey: .projectionDim) ?? 512
        logitScaleInitValue = try c.decodeIfPresent(Double.self, forKey: .logitScaleInitValue) ?? 2.6592
        text = try c.decodeIfPresent(Text.self, forKey: .text) ?? Text()
        vision = try c.decodeIfPresent(Vision.self, forKey: .vision) ?? Vision()
        torchDtype = try c.decodeIfPresent(String.self, forKey: .torchDtype) ?? "float32"
    }

    /// Whether `json` is a transformers CLIP config: `model_type` "clip" or `architectures`
    /// naming `CLIPModel`.
    public static func describesCLIP(_ json: JSONValue) -> Bool {
        json["model_type"]?.string == "clip" || (json["architectures"]?.elements ?? []).contains { $0.string == "CLIPModel" }
    }

    /// Reads `config.json` at `path`; errors name the file.
    public static func read(_ path: String) throws -> HuggingFaceCLIPConfig {
        let json = try JSONValue.read(path)
        guard describesCLIP(json) else {
            throw CLIPConfigError.unreadable(path, "not a transformers CLIP config (model_type \"clip\" or architectures [\"CLIPModel\"])")
        }
        do { return try JSONDecoder().decode(HuggingFaceCLIPConfig.self, from: JSONEncoder().encode(json)) } catch {
            throw CLIPConfigError.unreadable(path, "not a valid transformers CLIP config (\(error))")
        }
    }

    /// The activation both towers use: true for QuickGELU (`hidden_act` "quick_gelu"), false
    /// for exact GELU ("gelu"). Throws for other activations or towers that differ.
    public func quickGELU() throws -> Bool {
        func parse(_ act: String, _ tower: String) throws -> Bool {
            switch act {
            case "quick_gelu": return true
            case "gelu": return false
            default: throw CLIPConfigError.unsupported("\(tower).hidden_act = \"\(act)\" (only \"quick_gelu\" and \"gelu\" are supported)")
            }
        }
        let t = try parse(text.hiddenAct, "text_config"), v = try parse(vision.hiddenAct, "vision_config")
        guard t == v else {
            throw CLIPConfigError.unsupported("text_config.hidden_act \"\(text.hiddenAct)\" with vision_config.hidden_act \"\(vision.hiddenAct)\" (both towers must use one activation)")
        }
        return t
    }

    /// The same model in open_clip's schema. Throws `CLIPConfigError` naming the field this
    /// implementation cannot run (another activation, layer-norm epsilon or channel count, a
    /// width not a multiple of the heads, an MLP width that no ratio gives, pooling at an
    /// end-of-text id other than the vocabulary's last).
    public func clipConfig() throws -> CLIPConfig {
        func need(_ ok: Bool, _ what: @autoclosure () -> String) throws { if !ok { throw CLIPConfigError.unsupported(what()) } }
        try need(vision.numChannels == 3, "vision_config.num_channels = \(vision.numChannels) (only 3)")
        try need(vision.layerNormEps == 1e-5, "vision_config.layer_norm_eps = \(vision.layerNormEps) (only 1e-05)")
        try need(text.layerNormEps == 1e-5, "text_config.layer_norm_eps = \(text.layerNormEps) (only 1e-05)")
        try need(vision.numAttentionHeads > 0 && vision.hiddenSize % vision.numAttentionHeads == 0,
                 "vision_config.hidden_size \(vision.hiddenSize) is not a multiple of num_attention_heads \(vision.numAttentionHeads)")
        // transformers pools at the first eos_token_id (argmax of the ids when it is 2, its
        // legacy value); open_clip at the largest id. They agree when eos is the last id.
        try need(text.eosTokenId == 2 || text.eosTokenId == text.vocabSize - 1,
                 "text_config.eos_token_id = \(text.eosTokenId) (pooling is at the largest token id, \(text.vocabSize - 1))")
        let visionRatio = Double(vision.intermediateSize) / Double(vision.hiddenSize)
        let textRatio = Double(text.intermediateSize) / Double(text.hiddenSize)
        let cfg = CLIPConfig(
            embedDim: projectionDim,
            vision: .init(imageSize: vision.imageSize, patchSize: vision.patchSize, width: vision.hiddenSize,
                          layers: vision.numHiddenLayers, headWidth: vision.hiddenSize / vision.numAttentionHeads, mlpRatio: visionRatio),
            text: .init(contextLength: text.maxPositionEmbeddings, vocabSize: text.vocabSize, width: text.hiddenSize,
                        heads: text.numAttentionHeads, layers: text.numHiddenLayers, mlpRatio: textRatio),
            quickGELU: try quickGELU(), initLogitScale: logitScaleInitValue)
        try cfg.validate()
        try need(cfg.vision.mlpWidth == vision.intermediateSize, "vision_config.intermediate_size = \(vision.intermediateSize)")
        try need(cfg.text.mlpWidth == text.intermediateSize, "text_config.intermediate_size = \(text.intermediateSize)")
        return cfg
    }

    /// The transformers config of `config`, with the special token ids of CLIP's tokenizer
    /// (start and end of text are the vocabulary's last two ids; padding is 0, as open_clip's
    /// tokenizer pads).
    public init(_ config: CLIPConfig) {
        architectures = ["CLIPModel"]
        modelType = "clip"
        projectionDim = config.embedDim
        logitScaleInitValue = config.initLogitScale
        torchDtype = "float32"
        let act = config.quickGELU ? "quick_gelu" : "gelu"
        text = Text()
        text.vocabSize = config.text.vocabSize
        text.hiddenSize = config.text.width
        text.intermediateSize = config.text.mlpWidth
        text.numHiddenLayers = config.text.layers
        text.numAttentionHeads = config.text.heads
        text.maxPositionEmbeddings = config.text.contextLength
        text.projectionDim = config.embedDim
        text.hiddenAct = act
        text.bosTokenId = config.text.vocabSize - 2
        text.eosTokenId = config.text.vocabSize - 1
        text.padTokenId = 0
        vision = Vision()
        vision.hiddenSize = config.vision.width
        vision.intermediateSize = config.vision.mlpWidth
        vision.numHiddenLayers = config.vision.layers
        vision.numAttentionHeads = config.vision.heads
        vision.imageSize = config.vision.imageSize
        vision.patchSize = config.vision.patchSize
        vision.projectionDim = config.embedDim
        vision.hiddenAct = act
    }

    /// Pretty JSON with sorted keys.
    public func data() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try e.encode(self)
    }
}
