import Foundation
import MoDEFormats
import MoDETokenizers

/// A BERT encoder's shape, read from a Hugging Face `config.json` (`model_type` "bert" and its
/// relatives with the same layout). Settings that would change the computation and that this
/// implementation does not support are rejected with the key named.
public struct BERTConfig: Sendable, Equatable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var layers: Int
    public var heads: Int
    public var intermediateSize: Int
    public var maxPositions: Int
    public var typeVocabSize: Int
    public var layerNormEps: Float

    public var headSize: Int { hiddenSize / heads }

    public init(vocabSize: Int, hiddenSize: Int, layers: Int, heads: Int, intermediateSize: Int,
                maxPositions: Int = 512, typeVocabSize: Int = 2, layerNormEps: Float = 1e-12) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.heads = heads
        self.intermediateSize = intermediateSize
        self.maxPositions = maxPositions
        self.typeVocabSize = typeVocabSize
        self.layerNormEps = layerNormEps
    }

    /// Reads `path` (a config.json). Throws `BERTError`.
    public static func load(_ path: String) throws -> BERTConfig {
        guard FileManager.default.fileExists(atPath: path) else {
            throw BERTError(path: path, .missingFile(what: "model configuration (config.json)"))
        }
        let obj = try HFJSON.object(path)
        func required(_ key: String) throws -> Int {
            guard let v = try HFJSON.int(obj, key, path) else { throw BERTError(path: path, .invalidValue(key: key, reason: "missing")) }
            guard v > 0 else { throw BERTError(path: path, .invalidValue(key: key, reason: "must be positive, found \(v)")) }
            return v
        }
        if let type = obj["model_type"]?.string, type != "bert" {
            throw BERTError(path: path, .unsupported("model_type \"\(type)\" (only \"bert\" models are supported)"))
        }
        if let act = obj["hidden_act"]?.string, act != "gelu" {
            throw BERTError(path: path, .unsupported("hidden_act \"\(act)\" (only \"gelu\", the exact erf form, is supported)"))
        }
        if let pos = obj["position_embedding_type"]?.string, pos != "absolute" {
            throw BERTError(path: path, .unsupported("position_embedding_type \"\(pos)\" (only \"absolute\")"))
        }
        if try HFJSON.bool(obj, "is_decoder", path) == true {
            throw BERTError(path: path, .unsupported("is_decoder true (BERT is used here as a bidirectional encoder)"))
        }
        let c = BERTConfig(
            vocabSize: try required("vocab_size"),
            hiddenSize: try required("hidden_size"),
            layers: try required("num_hidden_layers"),
            heads: try required("num_attention_heads"),
            intermediateSize: try required("intermediate_size"),
            maxPositions: try HFJSON.int(obj, "max_position_embeddings", path) ?? 512,
            typeVocabSize: try HFJSON.int(obj, "type_vocab_size", path) ?? 2,
            layerNormEps: Float(try HFJSON.double(obj, "layer_norm_eps", path) ?? 1e-12))
        guard c.hiddenSize % c.heads == 0 else {
            throw BERTError(path: path, .invalidValue(key: "num_attention_heads", reason: "\(c.heads) does not divide hidden_size \(c.hiddenSize)"))
        }
        guard c.maxPositions >= 2 else { throw BERTError(path: path, .invalidValue(key: "max_position_embeddings", reason: "must be at least 2")) }
        guard c.typeVocabSize >= 1 else { throw BERTError(path: path, .invalidValue(key: "type_vocab_size", reason: "must be at least 1")) }
        return c
    }
}
