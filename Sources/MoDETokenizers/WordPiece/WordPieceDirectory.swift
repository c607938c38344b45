import Foundation
import MoDEFormats

/// Paths inside a Hugging Face model directory.
package enum HFFiles {
    package static func join(_ dir: String, _ name: String) -> String {
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
        let tc = try HFJSON.optionalObject(tcPath)
        let stmPath = HFFiles.join(directory, "special_tokens_map.json")
        let stm = try HFJSON.optionalObject(stmPath)
        func special(_ key: String, _ fallback: String) throws -> String {
            try HFJSON.string(tc, key, tcPath) ?? HFJSON.string(stm, key, stmPath) ?? fallback
        }
        if let cls = tc?["tokenizer_class"]?.string,
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
            guard let model = HFJSON.objectMember(tj, "model") else {
                throw BERTError(path: tjPath, .invalidValue(key: "model", reason: "missing"))
            }
            if let type = model["type"]?.string, type != "WordPiece" {
                throw BERTError(path: tjPath, .unsupported("tokenizer model \"\(type)\" (only WordPiece)"))
            }
            guard let vocab = HFJSON.objectMember(model, "vocab")?.members else {
                throw BERTError(path: tjPath, .invalidValue(key: "model.vocab", reason: "missing or not an object of token → id"))
            }
            vocabulary.reserveCapacity(vocab.count)
            for entry in vocab {
                let token = entry.key
                guard let n = HFJSON.wholeNumber(entry.value), let id = Int32(exactly: n) else {
                    throw BERTError(path: tjPath, .invalidValue(key: "model.vocab", reason: "id of \"\(token)\" is not an integer"))
                }
                vocabulary.append((token, id))
            }
            unk = try HFJSON.string(model, "unk_token", tjPath) ?? unk
            prefix = try HFJSON.string(model, "continuing_subword_prefix", tjPath) ?? prefix
            maxChars = try HFJSON.int(model, "max_input_chars_per_word", tjPath) ?? maxChars
            if let n = HFJSON.objectMember(tj, "normalizer") {
                guard n["type"]?.string == "BertNormalizer" else {
                    throw BERTError(path: tjPath, .unsupported("normalizer \(n["type"]?.description ?? "?") (only BertNormalizer)"))
                }
                cleanText = try HFJSON.bool(n, "clean_text", tjPath) ?? true
                lowercase = try HFJSON.bool(n, "lowercase", tjPath)
                stripAccents = try HFJSON.bool(n, "strip_accents", tjPath)
                chinese = try HFJSON.bool(n, "handle_chinese_chars", tjPath)
            }
            if let p = HFJSON.objectMember(tj, "pre_tokenizer"), p["type"]?.string != "BertPreTokenizer" {
                throw BERTError(path: tjPath, .unsupported("pre_tokenizer \(p["type"]?.description ?? "?") (only BertPreTokenizer)"))
            }
            for entry in tj["added_tokens"]?.elements ?? [] {
                guard let content = entry["content"]?.string, let n = entry["id"].flatMap(HFJSON.wholeNumber), let id = Int32(exactly: n) else {
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
        if tc?["strip_accents"] != nil { stripAccents = try HFJSON.bool(tc, "strip_accents", tcPath) }
        chinese = try HFJSON.bool(tc, "tokenize_chinese_chars", tcPath) ?? chinese
        if let decoder = HFJSON.objectMember(tc, "added_tokens_decoder")?.members {
            for member in decoder {
                let (key, entry) = (member.key, member.value)
                guard let id = Int32(key), entry.members != nil, let content = entry["content"]?.string else {
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
