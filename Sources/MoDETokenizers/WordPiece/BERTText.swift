import Foundation

/// How BERT's tokenizer prepares text before WordPiece: Hugging Face's `BertNormalizer` (clean text,
/// pad Chinese characters with spaces, strip accents, lower-case — in that order) followed by
/// `BertPreTokenizer` (split on whitespace, isolate punctuation).
public struct BERTTextOptions: Sendable, Equatable {
    /// Remove NUL, U+FFFD and control/format/private-use characters; turn whitespace into spaces.
    public var cleanText: Bool
    /// Surround each CJK ideograph with spaces so it becomes a word of its own.
    public var chineseCharacters: Bool
    /// Decompose (NFD) and drop nonspacing marks.
    public var stripAccents: Bool
    /// Lower-case each character (full Unicode mapping, one character at a time).
    public var lowercase: Bool

    /// Options in Hugging Face's terms; `stripAccents` nil follows `lowercase`, as BERT does.
    public init(cleanText: Bool = true, chineseCharacters: Bool = true, stripAccents: Bool? = nil, lowercase: Bool = true) {
        self.cleanText = cleanText
        self.chineseCharacters = chineseCharacters
        self.stripAccents = stripAccents ?? lowercase
        self.lowercase = lowercase
    }
}

/// BERT's character classes and normalisation, exact to Hugging Face tokenizers (whose tables
/// follow Unicode 8 general categories; see BERTUnicodeTables.swift).
enum BERTText {
    /// Whether `c` lies in one of the flat inclusive `ranges` (lo0, hi0, lo1, hi1, …, sorted).
    static func contains(_ ranges: [UInt32], _ c: UInt32) -> Bool {
        var lo = 0, hi = ranges.count / 2
        while lo < hi {
            let mid = (lo + hi) / 2
            if c > ranges[2 * mid + 1] { lo = mid + 1 } else { hi = mid }
        }
        return lo < ranges.count / 2 && c >= ranges[2 * lo]
    }

    /// Whitespace as Rust's `char::is_whitespace` (the Unicode White_Space property).
    @inline(__always)
    static func isWhitespace(_ c: UInt32) -> Bool {
        switch c {
        case 0x9...0xD, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: true
        default: false
        }
    }

    /// Characters clean-text removes: NUL, U+FFFD, and control characters (Cc except tab, newline
    /// and carriage return; Cf; Co).
    @inline(__always)
    static func isRemoved(_ c: UInt32) -> Bool {
        if c < 0x80 { return c == 0 || (c < 0x20 && c != 0x9 && c != 0xA && c != 0xD) || c == 0x7F }
        return c == 0xFFFD || contains(BERTUnicodeTables.other, c)
    }

    /// BERT's punctuation: every non-alphanumeric printable ASCII character, and Unicode P*.
    @inline(__always)
    static func isPunctuation(_ c: UInt32) -> Bool {
        if c < 0x80 { return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126) }
        return contains(BERTUnicodeTables.punctuation, c)
    }

    /// CJK ideographs (the blocks the original BERT lists; Hangul and kana are not included).
    @inline(__always)
    static func isChinese(_ c: UInt32) -> Bool {
        switch c {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B81F, 0x2B920...0x2CEAF,
             0xF900...0xFAFF, 0x2F800...0x2FA1F: true
        default: false
        }
    }

    /// Appends the canonical decomposition of `c` (itself when it has none in the reference tables).
    static func appendDecomposition(_ c: Unicode.Scalar, to out: inout [Unicode.Scalar]) {
        if c.value < 0xC0 || !contains(BERTUnicodeTables.decomposes, c.value) {
            out.append(c)
            return
        }
        out.append(contentsOf: String(Character(c)).decomposedStringWithCanonicalMapping.unicodeScalars)
    }

    /// Normalises `text` into `out` (cleared first): clean text, Chinese characters, accent
    /// stripping and lower-casing as `options` says. `scratch` is working space.
    static func normalize<S: Sequence<Unicode.Scalar>>(_ text: S, _ options: BERTTextOptions, into out: inout [Unicode.Scalar],
                                                      scratch: inout [Unicode.Scalar]) {
        out.removeAll(keepingCapacity: true)
        var nonASCII = false
        for c in text {
            var s = c
            if options.cleanText {
                if isRemoved(c.value) { continue }
                if isWhitespace(c.value) { s = " " }
            }
            if s.value >= 0x80 { nonASCII = true }
            if options.chineseCharacters && s.value >= 0x3400 && isChinese(s.value) {
                out.append(" ")
                out.append(s)
                out.append(" ")
            } else {
                out.append(s)
            }
        }
        if options.stripAccents && nonASCII {
            swap(&out, &scratch)
            out.removeAll(keepingCapacity: true)
            stripAccents(scratch, into: &out)
        }
        if options.lowercase { lowercase(&out, scratch: &scratch) }
    }

    /// out += NFD(chars) without nonspacing marks. Decomposes with the reference's table, then
    /// puts each run of combining marks in canonical order, then drops the marks.
    static func stripAccents(_ chars: [Unicode.Scalar], into out: inout [Unicode.Scalar]) {
        let start = out.count
        for c in chars { appendDecomposition(c, to: &out) }
        // Canonical ordering: stable sort of each run of non-starters by combining class.
        var i = start
        while i < out.count {
            if out[i].properties.canonicalCombiningClass.rawValue == 0 { i += 1; continue }
            var j = i
            while j < out.count && out[j].properties.canonicalCombiningClass.rawValue != 0 { j += 1 }
            if j - i > 1 {
                let run = out[i..<j].enumerated().sorted {
                    let a = $0.element.properties.canonicalCombiningClass.rawValue
                    let b = $1.element.properties.canonicalCombiningClass.rawValue
                    return a != b ? a < b : $0.offset < $1.offset
                }.map(\.element)
                out.replaceSubrange(i..<j, with: run)
            }
            i = j
        }
        var w = start
        for k in start..<out.count {
            let c = out[k]
            if c.value >= 0x300 && contains(BERTUnicodeTables.nonspacingMarks, c.value) { continue }
            out[w] = c
            w += 1
        }
        out.removeSubrange(w...)
    }

    /// Lower-cases `chars` in place, one character at a time (full mappings; no context).
    static func lowercase(_ chars: inout [Unicode.Scalar], scratch: inout [Unicode.Scalar]) {
        var simple = true
        for k in chars.indices {
            let v = chars[k].value
            if v < 0x80 {
                if v >= 0x41 && v <= 0x5A { chars[k] = Unicode.Scalar(v + 32)! }
            } else {
                simple = false
                break
            }
        }
        if simple { return }
        scratch.removeAll(keepingCapacity: true)
        for c in chars {
            let v = c.value
            if v < 0x80 {
                scratch.append(v >= 0x41 && v <= 0x5A ? Unicode.Scalar(v + 32)! : c)
            } else if c.properties.changesWhenLowercased {
                scratch.append(contentsOf: c.properties.lowercaseMapping.unicodeScalars)
            } else {
                scratch.append(c)
            }
        }
        swap(&chars, &scratch)
    }

    /// Calls `word` with each pre-token of normalised `chars`: split on whitespace, each
    /// punctuation character alone. Stops early when `word` returns false.
    static func preTokenize(_ chars: [Unicode.Scalar], _ word: (ArraySlice<Unicode.Scalar>) -> Bool) {
        var start = 0
        var i = 0
        let n = chars.count
        while i < n {
            let v = chars[i].value
            if isWhitespace(v) {
                if i > start && !word(chars[start..<i]) { return }
                start = i + 1
            } else if isPunctuation(v) {
                if i > start && !word(chars[start..<i]) { return }
                if !word(chars[i..<(i + 1)]) { return }
                start = i + 1
            }
            i += 1
        }
        if n > start { _ = word(chars[start..<n]) }
    }
}
