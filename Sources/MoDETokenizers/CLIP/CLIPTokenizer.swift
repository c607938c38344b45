import Foundation
import MoDEFormats

/// A failure to find or read the CLIP BPE vocabulary; each case names the file.
public enum CLIPVocabularyError: Error, CustomStringConvertible, Equatable {
    /// No vocabulary at any of the places looked at.
    case notFound(searched: [String])
    /// The file exists but could not be read or decompressed.
    case unreadable(path: String, reason: String)
    /// The file was read but is not a CLIP merges list.
    case malformed(path: String, reason: String)

    public var description: String {
        switch self {
        case .notFound(let searched):
            return "CLIP BPE vocabulary \(CLIPTokenizer.vocabularyFileName) not found; looked for:\n  "
                + searched.joined(separator: "\n  ")
                + "\nRun the setup (scripts/fetch_clip_vocab.sh, or make setup) to download it, "
                + "or set MODE_CLIP_VOCAB to its path."
        case .unreadable(let path, let reason):
            return "cannot read CLIP BPE vocabulary \(path): \(reason)"
        case .malformed(let path, let reason):
            return "CLIP BPE vocabulary \(path) is malformed: \(reason)"
        }
    }
}

/// open_clip's CLIP tokenizer (`open_clip.tokenizer.SimpleTokenizer` with its defaults, and
/// `open_clip.tokenize`), reproduced id for id: open_clip's text cleaning (`CLIPTextCleaner`),
/// its pre-tokenizer (`CLIPPreTokenizer`) and byte-level BPE over the 49,408-token vocabulary
/// `bpe_simple_vocab_16e6.txt.gz` (256 bytes, 256 bytes + "</w>", 48,894 merges,
/// `<start_of_text>` = 49406, `<end_of_text>` = 49407). Thread-safe; BPE results are cached.
public final class CLIPTokenizer: @unchecked Sendable {
    /// File name of the vocabulary open_clip ships.
    public static let vocabularyFileName = "bpe_simple_vocab_16e6.txt.gz"
    /// Number of merge lines used (open_clip reads lines 1 ..< 49152 − 256 − 2 + 1 of the file).
    public static let mergeCount = 49152 - 256 - 2
    /// open_clip's default context length.
    public static let defaultContextLength = 77

    /// Token strings by id (byte-level alphabet; "</w>" ends a word).
    public let vocabulary: [String]
    /// Id of `<start_of_text>` (49406).
    public let startOfText: Int32
    /// Id of `<end_of_text>` (49407).
    public let endOfText: Int32
    /// Number of tokens (49408).
    public var vocabularySize: Int { vocabulary.count }

    /// Ids of the single-byte tokens, without and with "</w>".
    private let byteID: [Int32], byteEndID: [Int32]
    /// Merges: (left id << 32 | right id) → (rank, merged id).
    private let merges: [UInt64: (rank: Int32, merged: Int32)]
    /// UTF-8 bytes of each token ("</w>" included), for `decode`.
    private let tokenBytes: [[UInt8]]

    private let cacheLock = NSLock()
    private var cache: [[UInt8]: [Int32]] = [:]
    /// The cache is emptied when it reaches this many words (bounds memory on large corpora).
    private static let cacheLimit = 500_000

    // MARK: loading

    /// Loads the vocabulary from `vocabularyPath`: the gzip file open_clip ships, or its
    /// decompressed text. Throws `CLIPVocabularyError` naming the file when it is missing,
    /// unreadable or malformed.
    public convenience init(vocabularyPath: String) throws {
        guard FileManager.default.fileExists(atPath: vocabularyPath) else {
            throw CLIPVocabularyError.notFound(searched: [vocabularyPath])
        }
        let raw: [UInt8]
        do {
            raw = [UInt8](try Data(contentsOf: URL(fileURLWithPath: vocabularyPath)))
        } catch {
            throw CLIPVocabularyError.unreadable(path: vocabularyPath, reason: "\(error.localizedDescription)")
        }
        var bytes = raw
        if Gzip.isGzip(raw) {
            do { bytes = try Gzip.decompress(raw) } catch {
                throw CLIPVocabularyError.unreadable(path: vocabularyPath, reason: "gzip: \(error)")
            }
        }
        try self.init(mergesData: bytes, source: vocabularyPath)
    }

    /// Loads the vocabulary at the default location (`defaultVocabularyPath()`).
    public convenience init() throws {
        try self.init(vocabularyPath: try CLIPTokenizer.defaultVocabularyPath())
    }

    /// Builds the tokenizer from the text of a merges file (a header line, then one merge
    /// "left right" per line); `source` names the file in errors.
    public convenience init(mergesText: String, source: String = "(text)") throws {
        try self.init(mergesData: Array(mergesText.utf8), source: source)
    }

    /// Builds the tokenizer from the UTF-8 bytes of a merges file (as `init(mergesText:)`).
    public init(mergesData bytes: [UInt8], source: String) throws {
        // open_clip: lines = text.split("\n"); merges = lines[1 : mergeCount + 1]; merge = line.split().
        var lineStarts = [0]
        var p = 0
        while lineStarts.count <= CLIPTokenizer.mergeCount + 1, let nl = bytes[p...].firstIndex(of: 0x0A) {
            p = nl + 1
            lineStarts.append(p)
        }
        guard lineStarts.count >= CLIPTokenizer.mergeCount + 1 else {
            throw CLIPVocabularyError.malformed(
                path: source,
                reason: "expected a header and \(CLIPTokenizer.mergeCount) merge lines, found \(lineStarts.count) lines")
        }
        let alphabet = ByteLevel.alphabet
        var vocab = alphabet.map { String(Character($0)) }
        vocab += alphabet.map { String(Character($0)) + "</w>" }
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(CLIPTokenizer.mergeCount)
        for lineNumber in 1...CLIPTokenizer.mergeCount {
            let start = lineStarts[lineNumber]
            let end = lineNumber + 1 < lineStarts.count ? lineStarts[lineNumber + 1] - 1 : bytes.count
            guard let line = String(validating: bytes[start..<end], as: UTF8.self) else {
                throw CLIPVocabularyError.malformed(path: source, reason: "line \(lineNumber + 1) is not UTF-8 text")
            }
            let parts = line.unicodeScalars.split { PythonUnicode.isSpace($0.value) }
            guard parts.count == 2 else {
                throw CLIPVocabularyError.malformed(
                    path: source, reason: "line \(lineNumber + 1) is not a merge of two symbols: \(line.debugDescription)")
            }
            let pair = (String(parts[0]), String(parts[1]))
            pairs.append(pair)
            vocab.append(pair.0 + pair.1)
        }
        vocab += ["<start_of_text>", "<end_of_text>"]

        var encoder: [String: Int32] = [:]
        encoder.reserveCapacity(vocab.count)
        for (i, t) in vocab.enumerated() { encoder[t] = Int32(i) }  // a repeated string keeps its last id, as in open_clip
        var merges: [UInt64: (rank: Int32, merged: Int32)] = [:]
        merges.reserveCapacity(pairs.count)
        for (rank, (a, b)) in pairs.enumerated() {
            // A merge whose halves are not tokens can never apply (symbols are always tokens).
            guard let l = encoder[a], let r = encoder[b], let m = encoder[a + b] else { continue }
            let key = UInt64(UInt32(l)) << 32 | UInt64(UInt32(r))
            merges[key] = (Int32(rank), m)  // a repeated pair keeps its last rank, as in open_clip
        }
        self.vocabulary = vocab
        self.merges = merges
        self.startOfText = encoder["<start_of_text>"]!
        self.endOfText = encoder["<end_of_text>"]!
        var byteID = [Int32](repeating: 0, count: 256), byteEndID = [Int32](repeating: 0, count: 256)
        for (i, b) in ByteLevel.byteOrder.enumerated() {
            byteID[Int(b)] = encoder[vocab[i]]!
            byteEndID[Int(b)] = encoder[vocab[256 + i]]!
        }
        self.byteID = byteID
        self.byteEndID = byteEndID
        self.tokenBytes = vocab.map { ByteLevel.bytes(of: $0) }
    }

    /// Where the vocabulary is looked for: `MODE_CLIP_VOCAB` if set, else
    /// `.deps/clip/bpe_simple_vocab_16e6.txt.gz` in the working directory, the executable's
    /// directory, or any directory above them (where `scripts/fetch_clip_vocab.sh` puts it).
    public static func defaultVocabularyPath() throws -> String {
        var starts = [FileManager.default.currentDirectoryPath]
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            starts.append(FilePaths.parent(exe))
        } else if let exe = Bundle.main.executableURL {
            starts.append(exe.deletingLastPathComponent().path)
        }
        return try defaultVocabularyPath(environment: ProcessInfo.processInfo.environment, searchingFrom: starts)
    }

    /// `defaultVocabularyPath()` with the environment and the start directories given.
    static func defaultVocabularyPath(environment: [String: String], searchingFrom starts: [String]) throws -> String {
        if let p = environment["MODE_CLIP_VOCAB"], !p.isEmpty {
            guard FileManager.default.fileExists(atPath: p) else {
                throw CLIPVocabularyError.notFound(searched: ["\(p) (from MODE_CLIP_VOCAB)"])
            }
            return p
        }
        var searched: [String] = []
        for start in starts {
            var dir = URL(fileURLWithPath: start).standardizedFileURL
            for _ in 0..<8 {
                let candidate = dir.appendingPathComponent(".deps/clip/\(vocabularyFileName)").path
                if FileManager.default.fileExists(atPath: candidate) { return candidate }
                if !searched.contains(candidate) { searched.append(candidate) }
                let parent = dir.deletingLastPathComponent()
                if parent.path == dir.path { break }
                dir = parent
            }
        }
        throw CLIPVocabularyError.notFound(searched: searched)
    }

    // MARK: encoding

    /// Token ids of `text` after open_clip's cleaning, without start/end tokens
    /// (`SimpleTokenizer.encode`).
    public func encode(_ text: String) -> [Int32] {
        let cleaned = CLIPTextCleaner.cleanScalars(text)
        var ids: [Int32] = []
        var utf8: [UInt8] = []
        for piece in CLIPPreTokenizer.split(cleaned) {
            utf8.removeAll(keepingCapacity: true)
            for c in cleaned[piece] { appendUTF8(c, to: &utf8) }
            ids += bpe(utf8)
        }
        return ids
    }

    /// `open_clip.tokenize(texts, context_length)`: per text, `<start_of_text>`, the ids and
    /// `<end_of_text>`, truncated to `contextLength` with `<end_of_text>` kept last, then zero
    /// padded. Result: (texts.count, contextLength).
    public func tokenize(_ texts: [String], contextLength: Int = CLIPTokenizer.defaultContextLength) -> [[Int32]] {
        texts.map { tokenize($0, contextLength: contextLength) }
    }

    /// `open_clip.tokenize` of one text: (contextLength) ids.
    public func tokenize(_ text: String, contextLength: Int = CLIPTokenizer.defaultContextLength) -> [Int32] {
        precondition(contextLength >= 1, "contextLength must be at least 1")
        var row = [startOfText] + encode(text) + [endOfText]
        if row.count > contextLength {
            row.removeLast(row.count - contextLength)
            row[contextLength - 1] = endOfText
        }
        row += repeatElement(0, count: contextLength - row.count)
        return row
    }

    /// Text of `ids` as open_clip's `decode` renders it ("</w>" → " "; invalid UTF-8 → U+FFFD).
    /// For debugging; ids outside the vocabulary become U+FFFD.
    public func decode(_ ids: [Int32]) -> String {
        var bytes: [UInt8] = []
        for id in ids {
            if id >= 0, Int(id) < tokenBytes.count {
                bytes += tokenBytes[Int(id)]
            } else {
                bytes += [0xEF, 0xBF, 0xBD]
            }
        }
        return String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "</w>", with: " ")
    }

    /// Ids of one pre-token given as UTF-8 bytes (`SimpleTokenizer.bpe` plus the id lookup).
    func bpe(_ word: [UInt8]) -> [Int32] {
        if word == ByteLevel.startOfTextBytes { return [startOfText] }
        if word == ByteLevel.endOfTextBytes { return [endOfText] }
        if word.count == 1 { return [byteEndID[Int(word[0])]] }
        cacheLock.lock()
        let hit = cache[word]
        cacheLock.unlock()
        if let hit { return hit }

        var symbols = word.map { byteID[Int($0)] }
        symbols[symbols.count - 1] = byteEndID[Int(word[word.count - 1])]
        while symbols.count > 1 {
            // The adjacent pair with the lowest merge rank …
            var best: (rank: Int32, merged: Int32, left: Int32, right: Int32)?
            for k in 0..<(symbols.count - 1) {
                if let m = merges[UInt64(UInt32(symbols[k])) << 32 | UInt64(UInt32(symbols[k + 1]))],
                   best == nil || m.rank < best!.rank {
                    best = (m.rank, m.merged, symbols[k], symbols[k + 1])
                }
            }
            guard let best else { break }
            // … is merged everywhere, left to right, without overlaps.
            var next: [Int32] = []
            next.reserveCapacity(symbols.count)
            var k = 0
            while k < symbols.count {
                if k + 1 < symbols.count, symbols[k] == best.left, symbols[k + 1] == best.right {
                    next.append(best.merged)
                    k += 2
                } else {
                    next.append(symbols[k])
                    k += 1
                }
            }
            symbols = next
        }

        cacheLock.lock()
        if cache.count >= CLIPTokenizer.cacheLimit { cache.removeAll(keepingCapacity: true) }
        cache[word] = symbols
        cacheLock.unlock()
        return symbols
    }

    @inline(__always)
    private func appendUTF8(_ c: UInt32, to out: inout [UInt8]) {
        switch c {
        case 0..<0x80:
            out.append(UInt8(c))
        case 0x80..<0x800:
            out += [UInt8(0xC0 | c >> 6), UInt8(0x80 | c & 0x3F)]
        case 0x800..<0x10000:
            out += [UInt8(0xE0 | c >> 12), UInt8(0x80 | (c >> 6) & 0x3F), UInt8(0x80 | c & 0x3F)]
        default:
            out += [UInt8(0xF0 | c >> 18), UInt8(0x80 | (c >> 12) & 0x3F), UInt8(0x80 | (c >> 6) & 0x3F), UInt8(0x80 | c & 0x3F)]
        }
    }
}

/// GPT-2 / CLIP byte-level alphabet (`bytes_to_unicode`): each byte is written as a printable
/// character: "!"…"~", "¡"…"¬" and "®"…"ÿ" stand for themselves, the other 68 bytes (controls,
/// space, DEL, NBSP, soft hyphen) for U+0100, U+0101, … in byte order.
public enum ByteLevel {
    /// Bytes in vocabulary order: the self-representing bytes first, then the others.
    public static let byteOrder: [UInt8] = {
        let direct = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        let others = (0...255).filter { !direct.contains($0) }
        return (direct + others).map { UInt8($0) }
    }()

    /// Character of each byte (`bytes_to_unicode()[b]`), indexed by byte.
    public static let characterOfByte: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: "\0", count: 256)
        var extra: UInt32 = 0
        for b in byteOrder {
            if (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b) {
                table[Int(b)] = Unicode.Scalar(b)
            } else {
                table[Int(b)] = Unicode.Scalar(0x100 + extra)!
                extra += 1
            }
        }
        return table
    }()

    /// The alphabet in vocabulary order (the first 256 tokens).
    static let alphabet: [Unicode.Scalar] = byteOrder.map { characterOfByte[Int($0)] }

    private static let byteOfCharacter: [UInt32: UInt8] = {
        var m: [UInt32: UInt8] = [:]
        for b in 0..<256 { m[characterOfByte[b].value] = UInt8(b) }
        return m
    }()

    /// The bytes a token string stands for ("</w>" kept as its four ASCII bytes).
    static func bytes(of token: String) -> [UInt8] {
        token.unicodeScalars.map { byteOfCharacter[$0.value] ?? 0x3F }
    }

    static let startOfTextBytes = Array("<start_of_text>".utf8)
    static let endOfTextBytes = Array("<end_of_text>".utf8)
}
