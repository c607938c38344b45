import Foundation

/// A token matched in the raw text before normalisation (Hugging Face "added tokens", e.g. the
/// special tokens `[CLS]`, `[MASK]`), so that `[MASK]` in a text becomes one id.
public struct BERTAddedToken: Sendable, Equatable {
    public var content: String
    public var id: Int32
    /// Matched in the normalised text (true) or the raw text (false).
    public var normalized: Bool
    /// Absorb whitespace on the left / right of a match.
    public var lstrip: Bool
    public var rstrip: Bool
    /// Match only when not inside a word.
    public var singleWord: Bool

    public init(content: String, id: Int32, normalized: Bool = false, lstrip: Bool = false, rstrip: Bool = false, singleWord: Bool = false) {
        self.content = content
        self.id = id
        self.normalized = normalized
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.singleWord = singleWord
    }
}

/// Token ids of several texts padded to one length, as a BERT model takes them.
public struct BERTTokenBatch: Sendable, Equatable {
    /// Texts in the batch.
    public let count: Int
    /// Padded length T.
    public let length: Int
    /// (count, length) token ids, `[PAD]` after each text's end.
    public let ids: [Int32]
    /// (count, length) 1 for tokens, 0 for padding.
    public let attentionMask: [Int32]
    /// (count, length) all zeros (one segment).
    public let tokenTypeIds: [Int32]
    /// Tokens of each text, [CLS] and [SEP] included.
    public let lengths: [Int]

    /// A batch from its parts (the tokenizer's `batch`, or a test building one by hand).
    public init(count: Int, length: Int, ids: [Int32], attentionMask: [Int32], tokenTypeIds: [Int32], lengths: [Int]) {
        self.count = count
        self.length = length
        self.ids = ids
        self.attentionMask = attentionMask
        self.tokenTypeIds = tokenTypeIds
        self.lengths = lengths
    }
}

/// Byte trie over the vocabulary for greedy longest-match-first lookups without allocation.
struct VocabTrie: Sendable {
    /// Node 0 is the root for word-initial pieces, node 1 for continuation pieces (prefix removed).
    private(set) var terminal: [Int32] = [-1, -1]
    private var next: [Int: Int32] = [:]

    /// Adds `bytes` under `root` (0 or 1) with `id`; a later insertion of the same bytes wins.
    mutating func insert<S: Sequence<UInt8>>(_ bytes: S, root: Int32, id: Int32) {
        var node = root
        for b in bytes {
            let key = Int(node) << 8 | Int(b)
            if let n = next[key] {
                node = n
            } else {
                let n = Int32(terminal.count)
                terminal.append(-1)
                next[key] = n
                node = n
            }
        }
        terminal[Int(node)] = id
    }

    /// The id and end of the longest vocabulary entry under `root` that is a prefix of
    /// bytes[start...], or nil.
    func longestMatch(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, root: Int32) -> (id: Int32, end: Int)? {
        var node = root
        var best: (Int32, Int)?
        var i = start
        while i < bytes.count {
            guard let n = next[Int(node) << 8 | Int(bytes[i])] else { break }
            node = n
            i += 1
            let t = terminal[Int(node)]
            if t >= 0 { best = (t, i) }
        }
        return best
    }

    /// The id of exactly `bytes` under `root`, or nil.
    func lookup<S: Sequence<UInt8>>(_ bytes: S, root: Int32) -> Int32? {
        var node = root
        for b in bytes {
            guard let n = next[Int(node) << 8 | Int(b)] else { return nil }
            node = n
        }
        let t = terminal[Int(node)]
        return t >= 0 ? t : nil
    }
}

/// BERT's WordPiece tokenizer, exact to Hugging Face's `BertTokenizer` (tokenizers' Bert normalizer,
/// pre-tokenizer and WordPiece model): normalisation (`BERTTextOptions`), whitespace and punctuation
/// splitting, greedy longest-match-first WordPiece with a continuation prefix, `[UNK]` for words it
/// cannot cover or longer than `maxInputCharsPerWord`, and `[CLS] … [SEP]` around each text.
/// Immutable after construction; safe to use from several threads.
public final class WordPieceTokenizer: @unchecked Sendable {
    /// Where the vocabulary came from (a file path, for messages).
    public let source: String
    public let options: BERTTextOptions
    /// Number of distinct ids (the largest id + 1).
    public let vocabularySize: Int
    public let unkID: Int32
    public let clsID: Int32
    public let sepID: Int32
    public let padID: Int32
    public let continuingPrefix: String
    public let maxInputCharsPerWord: Int
    /// Tokens matched before normalisation or WordPiece.
    public let addedTokens: [BERTAddedToken]
    private let trie: VocabTrie
    private let tokensByID: [Int32: String]
    private let raw: [[Unicode.Scalar]]        // contents of non-normalised added tokens, longest first
    private let rawTokens: [BERTAddedToken]
    private let normalizedContents: [[Unicode.Scalar]]
    private let normalizedTokens: [BERTAddedToken]

    /// A tokenizer over `vocabulary` (token → id). Special tokens are looked up by name; `[CLS]`,
    /// `[SEP]` and the unknown token must exist. `addedTokens` default to the special tokens that
    /// exist in the vocabulary, matched in the raw text.
    public init(vocabulary: [(token: String, id: Int32)], options: BERTTextOptions = BERTTextOptions(),
                unkToken: String = "[UNK]", clsToken: String = "[CLS]", sepToken: String = "[SEP]",
                padToken: String = "[PAD]", maskToken: String = "[MASK]",
                continuingPrefix: String = "##", maxInputCharsPerWord: Int = 100,
                addedTokens: [BERTAddedToken]? = nil, source: String = "vocabulary") throws {
        var trie = VocabTrie()
        var byID: [Int32: String] = [:]
        let prefix = Array(continuingPrefix.utf8)
        var maxID: Int32 = -1
        var exact: [String: Int32] = [:]
        for (token, id) in vocabulary {
            guard id >= 0 else { throw BERTError(path: source, .invalidValue(key: token, reason: "negative id \(id)")) }
            let bytes = Array(token.utf8)
            trie.insert(bytes, root: 0, id: id)
            if !prefix.isEmpty, bytes.count > prefix.count, bytes.starts(with: prefix) {
                trie.insert(bytes[prefix.count...], root: 1, id: id)
            }
            byID[id] = token
            exact[token] = id
            maxID = max(maxID, id)
        }
        func require(_ name: String, _ role: String) throws -> Int32 {
            guard let id = trie.lookup(name.utf8, root: 0) else {
                throw BERTError(path: source, .invalidValue(key: role, reason: "token \"\(name)\" is not in the vocabulary"))
            }
            return id
        }
        self.source = source
        self.options = options
        self.vocabularySize = Int(maxID) + 1
        self.unkID = try require(unkToken, "unk_token")
        self.clsID = try require(clsToken, "cls_token")
        self.sepID = try require(sepToken, "sep_token")
        self.padID = trie.lookup(padToken.utf8, root: 0) ?? 0
        self.continuingPrefix = continuingPrefix
        self.maxInputCharsPerWord = maxInputCharsPerWord
        self.trie = trie
        self.tokensByID = byID
        var added = addedTokens ?? []
        if addedTokens == nil {
            for name in [padToken, unkToken, clsToken, sepToken, maskToken] {
                if let id = trie.lookup(name.utf8, root: 0), !added.contains(where: { $0.content == name }) {
                    added.append(BERTAddedToken(content: name, id: id))
                }
            }
        }
        added.removeAll { $0.content.isEmpty }
        self.addedTokens = added
        let rawSorted = added.filter { !$0.normalized }.sorted { $0.content.unicodeScalars.count > $1.content.unicodeScalars.count }
        self.rawTokens = rawSorted
        self.raw = rawSorted.map { Array($0.content.unicodeScalars) }
        let normSorted = added.filter(\.normalized).map { token -> (BERTAddedToken, [Unicode.Scalar]) in
            var out: [Unicode.Scalar] = [], scratch: [Unicode.Scalar] = []
            BERTText.normalize(token.content.unicodeScalars, options, into: &out, scratch: &scratch)
            return (token, out)
        }.filter { !$0.1.isEmpty }.sorted { $0.1.count > $1.1.count }
        self.normalizedTokens = normSorted.map(\.0)
        self.normalizedContents = normSorted.map(\.1)
    }

    /// The token string of `id`, or nil.
    public func token(_ id: Int32) -> String? { tokensByID[id] }

    /// The id of token string `token` exactly, or nil.
    public func id(_ token: String) -> Int32? { trie.lookup(token.utf8, root: 0) }

    /// Ids of `text` without [CLS]/[SEP]; at most `limit` of them (tokenisation stops there).
    public func tokenize(_ text: String, limit: Int = .max) -> [Int32] {
        var ids: [Int32] = []
        var work = Work()
        tokenize(text, limit: limit, into: &ids, work: &work)
        return ids
    }

    /// `[CLS]` + ids of `text` + `[SEP]`, at most `maxLength` ids in all (truncating the text's ids).
    public func encode(_ text: String, maxLength: Int = 512) -> [Int32] {
        precondition(maxLength >= 2, "maxLength must leave room for [CLS] and [SEP]")
        var ids: [Int32] = [clsID]
        var work = Work()
        tokenize(text, limit: maxLength - 2, into: &ids, work: &work)
        ids.append(sepID)
        return ids
    }

    /// Encodes `texts` and pads them to the longest (right padding with `[PAD]`).
    public func encodeBatch(_ texts: [String], maxLength: Int = 512) -> BERTTokenBatch {
        let encoded = texts.map { encode($0, maxLength: maxLength) }
        let t = encoded.map(\.count).max() ?? 0
        var ids = [Int32](repeating: padID, count: texts.count * t)
        var mask = [Int32](repeating: 0, count: texts.count * t)
        for (b, e) in encoded.enumerated() {
            for (i, id) in e.enumerated() {
                ids[b * t + i] = id
                mask[b * t + i] = 1
            }
        }
        return BERTTokenBatch(count: texts.count, length: t, ids: ids, attentionMask: mask,
                              tokenTypeIds: [Int32](repeating: 0, count: texts.count * t), lengths: encoded.map(\.count))
    }

    /// Reusable buffers for one thread's tokenisation.
    struct Work {
        var normalized: [Unicode.Scalar] = []
        var scratch: [Unicode.Scalar] = []
        var bytes: [UInt8] = []
        var pieces: [Int32] = []
    }

    /// Appends the ids of `text` (no [CLS]/[SEP]) to `ids`, stopping after `limit` ids.
    func tokenize(_ text: String, limit: Int, into ids: inout [Int32], work: inout Work) {
        let stop = ids.count + limit
        if limit <= 0 { return }
        let scalars = text.unicodeScalars
        if raw.isEmpty {
            tokenizeSegment(scalars[...], stop: stop, into: &ids, work: &work)
            return
        }
        let chars = Array(scalars)
        var segmentStart = 0
        var i = 0
        while i < chars.count && ids.count < stop {
            guard let (k, end) = matchAdded(chars, at: i, contents: raw, tokens: rawTokens) else {
                i += 1
                continue
            }
            var segmentEnd = i
            if rawTokens[k].lstrip {
                while segmentEnd > segmentStart && BERTText.isWhitespace(chars[segmentEnd - 1].value) { segmentEnd -= 1 }
            }
            if segmentEnd > segmentStart {
                tokenizeSegment(chars[segmentStart..<segmentEnd], stop: stop, into: &ids, work: &work)
                if ids.count >= stop { return }
            }
            ids.append(rawTokens[k].id)
            i = end
            if rawTokens[k].rstrip {
                while i < chars.count && BERTText.isWhitespace(chars[i].value) { i += 1 }
            }
            segmentStart = i
        }
        if segmentStart < chars.count && ids.count < stop {
            tokenizeSegment(chars[segmentStart...], stop: stop, into: &ids, work: &work)
        }
    }

    /// The longest added token (index into `tokens`) matching `chars` at `i`, and its end.
    private func matchAdded<C: RandomAccessCollection<Unicode.Scalar>>(_ chars: C, at i: C.Index, contents: [[Unicode.Scalar]],
                                                                      tokens: [BERTAddedToken]) -> (Int, C.Index)? where C.Index == Int {
        for (k, content) in contents.enumerated() {
            guard chars[i] == content[0], chars.endIndex - i >= content.count else { continue }
            var ok = true
            for j in 1..<content.count where chars[i + j] != content[j] { ok = false; break }
            if !ok { continue }
            let end = i + content.count
            if tokens[k].singleWord {
                let before = i > chars.startIndex && Self.isWordCharacter(chars[i - 1])
                let after = end < chars.endIndex && Self.isWordCharacter(chars[end])
                if before || after { continue }
            }
            return (k, end)
        }
        return nil
    }

    private static func isWordCharacter(_ c: Unicode.Scalar) -> Bool {
        c == "_" || c.properties.isAlphabetic || c.properties.numericType != nil
    }

    /// Normalises, splits and WordPiece-encodes one stretch of text between added tokens.
    private func tokenizeSegment<S: Sequence<Unicode.Scalar>>(_ text: S, stop: Int, into ids: inout [Int32], work: inout Work) {
        BERTText.normalize(text, options, into: &work.normalized, scratch: &work.scratch)
        if normalizedContents.isEmpty {
            wordPieces(work.normalized[...], stop: stop, into: &ids, work: &work)
            return
        }
        let chars = work.normalized
        var segmentStart = 0
        var i = 0
        while i < chars.count && ids.count < stop {
            guard let (k, end) = matchAdded(chars, at: i, contents: normalizedContents, tokens: normalizedTokens) else {
                i += 1
                continue
            }
            var segmentEnd = i
            if normalizedTokens[k].lstrip {
                while segmentEnd > segmentStart && BERTText.isWhitespace(chars[segmentEnd - 1].value) { segmentEnd -= 1 }
            }
            wordPieces(chars[segmentStart..<segmentEnd], stop: stop, into: &ids, work: &work)
            if ids.count >= stop { return }
            ids.append(normalizedTokens[k].id)
            i = end
            if normalizedTokens[k].rstrip {
                while i < chars.count && BERTText.isWhitespace(chars[i].value) { i += 1 }
            }
            segmentStart = i
        }
        if segmentStart < chars.count { wordPieces(chars[segmentStart...], stop: stop, into: &ids, work: &work) }
    }

    /// Pre-tokenises normalised `chars` and appends each word's WordPiece ids.
    private func wordPieces(_ chars: ArraySlice<Unicode.Scalar>, stop: Int, into ids: inout [Int32], work: inout Work) {
        if chars.isEmpty || ids.count >= stop { return }
        var bytes = work.bytes
        var pieces = work.pieces
        BERTText.preTokenize(Array(chars)) { word in
            encodeWord(word, bytes: &bytes, pieces: &pieces)
            let room = stop - ids.count
            if pieces.count >= room {
                ids.append(contentsOf: pieces.prefix(room))
                return false
            }
            ids.append(contentsOf: pieces)
            return true
        }
        work.bytes = bytes
        work.pieces = pieces
    }

    /// pieces = WordPiece ids of one pre-token: greedy longest match from the left, the
    /// continuation prefix on every piece but the first; the unknown token alone when some
    /// stretch has no match or the word is longer than `maxInputCharsPerWord` characters.
    private func encodeWord(_ word: ArraySlice<Unicode.Scalar>, bytes: inout [UInt8], pieces: inout [Int32]) {
        pieces.removeAll(keepingCapacity: true)
        if word.count > maxInputCharsPerWord {
            pieces.append(unkID)
            return
        }
        bytes.removeAll(keepingCapacity: true)
        for c in word { bytes.append(contentsOf: UTF8.encode(c)!) }
        bytes.withUnsafeBufferPointer { buf in
            var start = 0
            while start < buf.count {
                guard let (id, end) = trie.longestMatch(buf, from: start, root: start == 0 ? 0 : 1) else {
                    pieces.removeAll(keepingCapacity: true)
                    pieces.append(unkID)
                    return
                }
                pieces.append(id)
                start = end
            }
        }
    }
}
