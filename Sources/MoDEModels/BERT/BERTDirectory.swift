import Foundation
import MoDEFormats
import MoDETokenizers

/// How one embedding is made from a text's final token states.
public enum BERTPooling: String, Sendable, CaseIterable {
    /// Average of the token states (padding excluded) — sentence-transformers' mean pooling.
    case mean
    /// The [CLS] token's state.
    case cls
    /// Element-wise maximum over the tokens.
    case max
    /// Sum of the token states divided by √(number of tokens).
    case meanSqrtLen = "mean-sqrt-len"
    /// BERT's pooler: tanh(dense([CLS] state)) — SimCSE's "pooler output".
    case clsPooler = "cls-pooler"
}


/// What a model directory says about making one sentence embedding: the pooling, the longest
/// input, and whether sentence-transformers lower-cases text first.
public struct SentenceEmbeddingSpec: Sendable, Equatable {
    public var pooling: BERTPooling
    /// Tokens per text including [CLS] and [SEP]; longer texts are truncated.
    public var maxLength: Int
    /// sentence-transformers' `do_lower_case` (lower-cases the whole text before tokenising).
    public var lowercaseInput: Bool

    public init(pooling: BERTPooling, maxLength: Int, lowercaseInput: Bool = false) {
        self.pooling = pooling
        self.maxLength = maxLength
        self.lowercaseInput = lowercaseInput
    }

    /// Reads the sentence-transformers description (`modules.json`, the pooling module's
    /// `config.json`, `sentence_bert_config.json`) when present. Without it the pooling is
    /// `cls-pooler` when the weights have a pooler, else `cls`, and the longest input is the
    /// smaller of `max_position_embeddings` and the tokenizer's `model_max_length`.
    public static func load(directory: String, config: BERTConfig, hasPooler: Bool) throws -> SentenceEmbeddingSpec {
        var maxLength = config.maxPositions
        let tcPath = HFFiles.join(directory, "tokenizer_config.json")
        if let tc = try HFJSON.optionalObject(tcPath), let n = tc["model_max_length"]?.double,
           let m = Int(exactly: n.rounded(.down)), m >= 2 {
            maxLength = min(maxLength, m)
        }
        var spec = SentenceEmbeddingSpec(pooling: hasPooler ? .clsPooler : .cls, maxLength: maxLength)
        let sbPath = HFFiles.join(directory, "sentence_bert_config.json")
        if let sb = try HFJSON.optionalObject(sbPath) {
            if let m = try HFJSON.int(sb, "max_seq_length", sbPath) {
                guard m >= 2 else { throw BERTError(path: sbPath, .invalidValue(key: "max_seq_length", reason: "must be at least 2")) }
                guard m <= config.maxPositions else {
                    throw BERTError(path: sbPath, .invalidValue(key: "max_seq_length", reason: "\(m) exceeds max_position_embeddings \(config.maxPositions)"))
                }
                spec.maxLength = m
            }
            spec.lowercaseInput = try HFJSON.bool(sb, "do_lower_case", sbPath) ?? false
        }
        let modulesPath = HFFiles.join(directory, "modules.json")
        guard FileManager.default.fileExists(atPath: modulesPath) else { return spec }
        guard let data = FileManager.default.contents(atPath: modulesPath),
              let modules = (try? JSONValue.parse(data))?.elements, modules.allSatisfy({ $0.members != nil }) else {
            throw BERTError(path: modulesPath, .invalidJSON(reason: "expected a list of modules"))
        }
        var poolingPath: String?
        for (i, m) in modules.enumerated() {
            let type = m["type"]?.string ?? ""
            let kind = type.split(separator: ".").last.map(String.init) ?? type
            switch kind {
            case "Transformer", "Normalize": continue
            case "Pooling":
                guard i > 0, poolingPath == nil else { throw BERTError(path: modulesPath, .unsupported("more than one Pooling module")) }
                poolingPath = HFFiles.join(HFFiles.join(directory, m["path"]?.string ?? ""), "config.json")
            default:
                throw BERTError(path: modulesPath, .unsupported("module \"\(type)\" (only Transformer, Pooling and Normalize)"))
            }
        }
        guard let poolingPath else { throw BERTError(path: modulesPath, .unsupported("no Pooling module")) }
        guard FileManager.default.fileExists(atPath: poolingPath) else {
            throw BERTError(path: poolingPath, .missingFile(what: "pooling configuration named in modules.json"))
        }
        spec.pooling = try poolingMode(poolingPath)
        return spec
    }

    /// The one pooling mode a sentence-transformers Pooling config selects.
    static func poolingMode(_ path: String) throws -> BERTPooling {
        let obj = try HFJSON.object(path)
        if let mode = obj["pooling_mode"]?.string {
            switch mode {
            case "mean": return .mean
            case "cls": return .cls
            case "max": return .max
            case "mean_sqrt_len_tokens": return .meanSqrtLen
            default: throw BERTError(path: path, .unsupported("pooling_mode \"\(mode)\""))
            }
        }
        let flags: [(String, BERTPooling?)] = [
            ("pooling_mode_cls_token", .cls), ("pooling_mode_mean_tokens", .mean), ("pooling_mode_max_tokens", .max),
            ("pooling_mode_mean_sqrt_len_tokens", .meanSqrtLen), ("pooling_mode_weightedmean_tokens", nil),
            ("pooling_mode_lasttoken", nil),
        ]
        var chosen: [(String, BERTPooling?)] = []
        for (key, mode) in flags where try HFJSON.bool(obj, key, path) == true { chosen.append((key, mode)) }
        guard chosen.count == 1 else {
            throw BERTError(path: path, .unsupported(chosen.isEmpty ? "no pooling mode selected"
                                                     : "several pooling modes at once (\(chosen.map(\.0).joined(separator: ", ")))"))
        }
        guard let mode = chosen[0].1 else { throw BERTError(path: path, .unsupported(chosen[0].0)) }
        return mode
    }
}

/// Where the default caption encoder (all-MiniLM-L6-v2) lives.
public enum SentenceModelLocation {
    /// `MODE_MINILM_DIR` when set; else the first `.deps/minilm` found in the working directory or
    /// the directory of the executable, or above either; nil when none holds a config.json.
    public static func defaultMiniLM(environment: [String: String] = ProcessInfo.processInfo.environment,
                                     workingDirectory: String = FileManager.default.currentDirectoryPath,
                                     executable: String? = CommandLine.arguments.first) -> String? {
        if let dir = environment["MODE_MINILM_DIR"], !dir.isEmpty { return dir }
        var starts = [workingDirectory]
        if let executable {
            let url = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
            starts.append(url.path)
        }
        for start in starts {
            var url = URL(fileURLWithPath: start)
            while true {
                let candidate = url.appendingPathComponent(".deps/minilm")
                if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("config.json").path) {
                    return candidate.path
                }
                let parent = url.deletingLastPathComponent()
                if parent.path == url.path { break }
                url = parent
            }
        }
        return nil
    }

    /// `explicit`, or the default caption encoder (`defaultMiniLM`); an error saying how to get
    /// it when there is none.
    public static func resolve(_ explicit: String?) throws -> String {
        if let explicit { return explicit }
        guard let dir = defaultMiniLM() else {
            throw BERTError(path: ".deps/minilm", .missingFile(what: "caption encoder: no model given and all-MiniLM-L6-v2 not found (MODE_MINILM_DIR or .deps/minilm); run scripts/fetch_minilm.sh or pass --model DIR"))
        }
        return dir
    }
}
