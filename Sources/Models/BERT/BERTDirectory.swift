import Foundation

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

/// Paths inside a Hugging Face model directory.
enum HFFiles {
    static func join(_ dir: String, _ name: String) -> String {
        dir.hasSuffix("/") ? dir + name : dir + "/" + name
    }
}

extension WordPieceTokenizer {
    /// Loads the tokenizer of a Hugging Face BERT-family directory: `tokenizer.json` (a WordPiece
    /// model) when present, else `vocab.txt`; normaliser settings from `tokenizer_config.json`
    /// (`do_lower_case`, `strip_accents`, `tokenize_chinese_chars`), falling back to the
    /// `tokenizer.json` normaliser, then to BERT's defaults (lower-case, strip accents, split
    /// Chinese characters); special tokens from `tokenizer_config.json` / `special_tokens_map.json`.
    public static func load(directory: String) throws -> WordPieceTokenizer {
        let tcPath = HFFiles.join(directory, "tokenizer_config.json")
        let tc = try HFJSON.optionalObject(tcPath) ?? [:]
        let stmPath = HFFiles.join(directory, "special_tokens_map.json")
        let stm = try HFJSON.optionalObject(stmPath) ?? [:]
        func special(_ key: String, _ fallback: String) throws -> String {
            try HFJSON.string(tc, key, tcPath) ?? HFJSON.string(stm, key, stmPath) ?? fallback
        }
        if let cls = tc["tokenizer_class"] as? String,
           !["BertTokenizer", "BertTokenizerFast", "DistilBertTokenizer", "DistilBertTokenizerFast",
             "ElectraTokenizer", "ElectraTokenizerFast", "PreTrainedTokenizerFast"].contains(cls) {
            throw BERTError(path: tcPath, .unsupported("tokenizer_class \"\(cls)\" (only BERT's WordPiece tokenizer)"))
        }

        var cleanText = true
        var lowercase: Bool?
        var stripAccents: Bool?
        var chinese: Bool?
        var prefix = "##"
        var maxChars = 100
        var unk = try special("unk_token", "[UNK]")
        var vocabulary: [(token: String, id: Int32)] = []
        var added: [BERTAddedToken] = []
        var source: String

        let tjPath = HFFiles.join(directory, "tokenizer.json")
        let vocabPath = HFFiles.join(directory, "vocab.txt")
        if FileManager.default.fileExists(atPath: tjPath) {
            source = tjPath
            let tj = try HFJSON.object(tjPath)
            guard let model = tj["model"] as? [String: Any] else {
                throw BERTError(path: tjPath, .invalidValue(key: "model", reason: "missing"))
            }
            if let type = model["type"] as? String, type != "WordPiece" {
                throw BERTError(path: tjPath, .unsupported("tokenizer model \"\(type)\" (only WordPiece)"))
            }
            guard let vocab = model["vocab"] as? [String: Any] else {
                throw BERTError(path: tjPath, .invalidValue(key: "model.vocab", reason: "missing or not an object of token → id"))
            }
            vocabulary.reserveCapacity(vocab.count)
            for (token, v) in vocab {
                guard let n = v as? NSNumber, let id = Int32(exactly: n.doubleValue) else {
                    throw BERTError(path: tjPath, .invalidValue(key: "model.vocab", reason: "id of \"\(token)\" is not an integer"))
                }
                vocabulary.append((token, id))
            }
            unk = try HFJSON.string(model, "unk_token", tjPath) ?? unk
            prefix = try HFJSON.string(model, "continuing_subword_prefix", tjPath) ?? prefix
            maxChars = try HFJSON.int(model, "max_input_chars_per_word", tjPath) ?? maxChars
            if let n = tj["normalizer"] as? [String: Any] {
                guard n["type"] as? String == "BertNormalizer" else {
                    throw BERTError(path: tjPath, .unsupported("normalizer \"\(n["type"] ?? "?")\" (only BertNormalizer)"))
                }
                cleanText = try HFJSON.bool(n, "clean_text", tjPath) ?? true
                lowercase = try HFJSON.bool(n, "lowercase", tjPath)
                stripAccents = try HFJSON.bool(n, "strip_accents", tjPath)
                chinese = try HFJSON.bool(n, "handle_chinese_chars", tjPath)
            }
            if let p = tj["pre_tokenizer"] as? [String: Any], p["type"] as? String != "BertPreTokenizer" {
                throw BERTError(path: tjPath, .unsupported("pre_tokenizer \"\(p["type"] ?? "?")\" (only BertPreTokenizer)"))
            }
            for entry in tj["added_tokens"] as? [[String: Any]] ?? [] {
                guard let content = entry["content"] as? String, let n = entry["id"] as? NSNumber, let id = Int32(exactly: n.doubleValue) else {
                    throw BERTError(path: tjPath, .invalidValue(key: "added_tokens", reason: "entry without content or integer id"))
                }
                added.append(BERTAddedToken(
                    content: content, id: id, normalized: try HFJSON.bool(entry, "normalized", tjPath) ?? false,
                    lstrip: try HFJSON.bool(entry, "lstrip", tjPath) ?? false, rstrip: try HFJSON.bool(entry, "rstrip", tjPath) ?? false,
                    singleWord: try HFJSON.bool(entry, "single_word", tjPath) ?? false))
            }
        } else if FileManager.default.fileExists(atPath: vocabPath) {
            source = vocabPath
            vocabulary = try readVocabTxt(vocabPath)
        } else {
            throw BERTError(path: directory, .missingFile(what: "vocabulary (tokenizer.json or vocab.txt)"))
        }

        // tokenizer_config.json wins over the tokenizer.json normaliser, as in transformers.
        lowercase = try HFJSON.bool(tc, "do_lower_case", tcPath) ?? lowercase
        if tc["strip_accents"] != nil { stripAccents = try HFJSON.bool(tc, "strip_accents", tcPath) }
        chinese = try HFJSON.bool(tc, "tokenize_chinese_chars", tcPath) ?? chinese
        if let decoder = tc["added_tokens_decoder"] as? [String: Any] {
            for (key, value) in decoder {
                guard let id = Int32(key), let entry = value as? [String: Any], let content = entry["content"] as? String else {
                    throw BERTError(path: tcPath, .invalidValue(key: "added_tokens_decoder", reason: "entry \"\(key)\" is not an id with content"))
                }
                if added.contains(where: { $0.content == content }) { continue }
                added.append(BERTAddedToken(
                    content: content, id: id, normalized: try HFJSON.bool(entry, "normalized", tcPath) ?? false,
                    lstrip: try HFJSON.bool(entry, "lstrip", tcPath) ?? false, rstrip: try HFJSON.bool(entry, "rstrip", tcPath) ?? false,
                    singleWord: try HFJSON.bool(entry, "single_word", tcPath) ?? false))
            }
        }
        let names = (cls: try special("cls_token", "[CLS]"), sep: try special("sep_token", "[SEP]"),
                     pad: try special("pad_token", "[PAD]"), mask: try special("mask_token", "[MASK]"))
        let ids = Dictionary(vocabulary.map { ($0.token, $0.id) }, uniquingKeysWith: { _, b in b })
        for name in [names.pad, unk, names.cls, names.sep, names.mask] where !added.contains(where: { $0.content == name }) {
            if let id = ids[name] { added.append(BERTAddedToken(content: name, id: id)) }
        }
        let options = BERTTextOptions(cleanText: cleanText, chineseCharacters: chinese ?? true,
                                      stripAccents: stripAccents, lowercase: lowercase ?? true)
        return try WordPieceTokenizer(
            vocabulary: vocabulary, options: options, unkToken: unk, clsToken: names.cls, sepToken: names.sep,
            padToken: names.pad, maskToken: names.mask, continuingPrefix: prefix, maxInputCharsPerWord: maxChars,
            addedTokens: added, source: source)
    }

    /// A `vocab.txt`: one token per line, the id is the line number; lines end at \n, \r\n or \r.
    public static func readVocabTxt(_ path: String) throws -> [(token: String, id: Int32)] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BERTError(path: path, .missingFile(what: "vocabulary (cannot read it)"))
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw BERTError(path: path, .invalidValue(key: "vocabulary", reason: "not valid UTF-8"))
        }
        var out: [(token: String, id: Int32)] = []
        var line = String.UnicodeScalarView()
        var pendingCR = false
        var ended = true
        func finish() {
            out.append((String(line), Int32(out.count)))
            line = String.UnicodeScalarView()
        }
        for c in text.unicodeScalars {
            if pendingCR {
                pendingCR = false
                if c == "\n" { continue }
            }
            if c == "\n" || c == "\r" {
                finish()
                pendingCR = c == "\r"
                ended = true
            } else {
                line.append(c)
                ended = false
            }
        }
        if !ended { finish() }
        return out
    }
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
        if let tc = try HFJSON.optionalObject(tcPath), let n = tc["model_max_length"] as? NSNumber,
           let m = Int(exactly: n.doubleValue.rounded(.down)), m >= 2 {
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
              let modules = (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]] else {
            throw BERTError(path: modulesPath, .invalidJSON(reason: "expected a list of modules"))
        }
        var poolingPath: String?
        for (i, m) in modules.enumerated() {
            let type = m["type"] as? String ?? ""
            let kind = type.split(separator: ".").last.map(String.init) ?? type
            switch kind {
            case "Transformer", "Normalize": continue
            case "Pooling":
                guard i > 0, poolingPath == nil else { throw BERTError(path: modulesPath, .unsupported("more than one Pooling module")) }
                poolingPath = HFFiles.join(HFFiles.join(directory, m["path"] as? String ?? ""), "config.json")
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
        if let mode = obj["pooling_mode"] as? String {
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
}
